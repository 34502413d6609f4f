"""What a file is, from its first bytes: magic numbers, image dimensions, and whether that matches
what it claims to be. Pure and stdlib-only, so other layers (attachment extraction) reuse it.

``sniff`` reads at most the first ``HEAD`` bytes. ``image_size`` reads the header of PNG, JPEG,
GIF and WebP (the types an MCP client may inline). ``reconcile`` compares the detected type with
the declared one (LabArchives' ``attach-content-type`` or the download's Content-Type): a declared
image that is not the image it says is a mismatch, and SVG or HTML is never an image we inline.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from typing import Final

HEAD: Final = 4096
INLINE_IMAGES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),
    (b"\x1f\x8b", "application/gzip"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"BM", "image/bmp"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
    (b"{\\rtf", "application/rtf"),
)
_SVG: Final = re.compile(rb"<svg[\s>]", re.IGNORECASE)
_HTML: Final = re.compile(rb"<(!doctype\s+html|html|head|body|script|iframe)[\s>]", re.IGNORECASE)
_XML: Final = re.compile(rb"^(\xef\xbb\xbf)?\s*<\?xml", re.IGNORECASE)
# Office Open XML and OpenDocument are ZIP containers: their declared types are fine for a ZIP.
_ZIP_FAMILY: Final = ("application/vnd.openxmlformats", "application/vnd.oasis.opendocument", "application/zip",
                      "application/x-zip", "application/epub", "application/java-archive")  # fmt: skip
_OLE_FAMILY: Final = ("application/msword", "application/vnd.ms-", "application/x-ole-storage")


def sniff(data: bytes) -> str | None:
    """The media type the first bytes prove, or None when they prove nothing (plain text, unknown)."""
    head = bytes(data[:HEAD])
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if _SVG.search(head):
        return "image/svg+xml"
    if _HTML.search(head):
        return "text/html"
    if _XML.match(head):
        return "application/xml"
    return None


@dataclass(frozen=True, slots=True)
class ImageSize:
    width: int
    height: int


def _png(head: bytes) -> ImageSize | None:
    if len(head) >= 24 and head[12:16] == b"IHDR":
        width, height = struct.unpack(">II", head[16:24])
        return ImageSize(width, height)
    return None


def _gif(head: bytes) -> ImageSize | None:
    if len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return ImageSize(width, height)
    return None


def _webp(head: bytes) -> ImageSize | None:
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        return ImageSize(1 + int.from_bytes(head[24:27], "little"), 1 + int.from_bytes(head[27:30], "little"))
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return ImageSize(1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return ImageSize(width & 0x3FFF, height & 0x3FFF)
    return None


_SOF: Final = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg(data: bytes) -> ImageSize | None:
    """Walk the JPEG segments to the first start-of-frame; metadata segments may be long."""
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker in _SOF and pos + 9 <= len(data):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return ImageSize(width, height)
        if length < 2:
            return None
        pos += 2 + length
    return None


def image_size(data: bytes, mime: str) -> ImageSize | None:
    """Width and height from the header of a PNG, JPEG, GIF or WebP; None when unreadable."""
    if mime == "image/jpeg":
        return _jpeg(data)
    head = bytes(data[:64])
    if mime == "image/png":
        return _png(head)
    if mime == "image/gif":
        return _gif(head)
    if mime == "image/webp":
        return _webp(head)
    return None


def _family_matches(declared: str, detected: str) -> bool:
    if detected == "application/zip":
        return declared.startswith(_ZIP_FAMILY)
    if detected == "application/x-ole-storage":
        return declared.startswith(_OLE_FAMILY)
    if detected == "application/xml":
        return declared.endswith(("/xml", "+xml")) or declared.startswith("text/")
    if detected == "text/html":
        return declared in ("text/html", "application/xhtml+xml")
    if detected == "image/svg+xml":
        return declared in ("image/svg+xml", "application/xml", "text/xml")
    return declared == detected or (detected == "image/x-icon" and declared == "image/vnd.microsoft.icon")


def reconcile(declared: str, data: bytes) -> tuple[str, str | None]:
    """The type to trust and a plain note when the bytes contradict the declared type.

    Returns ``(detected or declared, problem)``. ``problem`` is None when the bytes agree, or prove
    nothing and the declared type is not an inline image type (a CSV has no magic number). A
    declared PNG/JPEG/GIF/WebP must be proven by its magic number.
    """
    declared = declared.partition(";")[0].strip().lower() or "application/octet-stream"
    detected = sniff(data)
    if detected is None:
        if declared in INLINE_IMAGES or declared == "image/svg+xml":
            return declared, f"declared {declared} but the bytes are not that image format"
        return declared, None
    if declared in ("application/octet-stream", "binary/octet-stream") or _family_matches(declared, detected):
        return detected, None
    return detected, f"declared {declared} but the bytes are {detected}"
