"""Types from magic numbers and image sides from headers, judged by libmagic (``file``) where it can."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from labmcp.fake.demo_files import minimal_pdf, png
from labmcp.labarchives import filetype

FILE = shutil.which("file")


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00" + b"\x3b"


def jpeg(width: int, height: int, exif: int = 3000) -> bytes:
    """SOI, a JFIF APP0, a long APP1 (metadata before the frame), then a baseline SOF0."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    app1 = b"\xff\xe1" + struct.pack(">H", exif + 2) + b"\x00" * exif
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + app0 + app1 + sof0 + b"\xff\xd9"


def webp_vp8x(width: int, height: int) -> bytes:
    body = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little")
    body += (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def webp_vp8l(width: int, height: int) -> bytes:
    bits = (width - 1) | ((height - 1) << 14)
    body = b"VP8L" + struct.pack("<I", 5) + b"\x2f" + bits.to_bytes(4, "little")
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _libmagic(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "sample"
    path.write_bytes(data)
    assert FILE is not None
    return subprocess.run([FILE, "-b", str(path)], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(FILE is None, reason="libmagic's file(1) is the oracle")
@pytest.mark.parametrize(
    ("make", "mime", "width", "height"),
    [
        (lambda w, h: png(w, h, lambda x, y: (0, 0, 0)), "image/png", 9000, 120),
        (gif, "image/gif", 300, 8001),
        (jpeg, "image/jpeg", 640, 480),
        (jpeg, "image/jpeg", 12000, 90),
    ],
)
def test_sides_agree_with_libmagic(make, mime: str, width: int, height: int, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = make(width, height)
    said = _libmagic(data, tmp_path)
    sides = re.findall(r"(\d+)\s*x\s*(\d+)", said)  # the last pair: JPEG also names its density ("1x1")
    assert sides, said
    assert tuple(map(int, sides[-1])) == (width, height), said
    assert filetype.sniff(data) == mime
    assert filetype.image_size(data, mime) == filetype.ImageSize(width, height)


@pytest.mark.parametrize("make", [webp_vp8x, webp_vp8l])
def test_webp_sides_from_both_header_layouts(make) -> None:  # type: ignore[no-untyped-def]
    data = make(8001, 33)
    assert filetype.sniff(data) == "image/webp"
    assert filetype.image_size(data, "image/webp") == filetype.ImageSize(8001, 33)


def test_a_png_named_file_with_jpeg_bytes_is_a_mismatch() -> None:
    mime, problem = filetype.reconcile("image/png", jpeg(10, 10))
    assert mime == "image/jpeg"
    assert problem == "declared image/png but the bytes are image/jpeg"


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b"",
        b'<?xml version="1.0"?><error><error-code>4999</error-code></error>',
    ],
)
def test_a_declared_image_that_is_svg_html_xml_or_nothing_is_a_mismatch(data: bytes) -> None:
    _, problem = filetype.reconcile("image/png", data)
    assert problem is not None


def test_agreeing_and_unprovable_types_pass() -> None:
    assert filetype.reconcile("application/pdf", minimal_pdf("t", ["x"])) == ("application/pdf", None)
    assert filetype.reconcile("text/csv", b"a,b\n1,2\n") == ("text/csv", None)
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert filetype.reconcile(docx, b"PK\x03\x04rest") == ("application/zip", None)
    assert filetype.reconcile("application/octet-stream", png(2, 2, lambda x, y: (0, 0, 0)))[1] is None


def test_unreadable_headers_give_no_size() -> None:
    assert filetype.image_size(b"\x89PNG\r\n\x1a\n", "image/png") is None
    assert filetype.image_size(b"\xff\xd8\xff\xe0\x00", "image/jpeg") is None
    assert filetype.image_size(b"GIF89a", "image/gif") is None
