"""Bytes from LabArchives, bounded before they expand: content encodings and charsets, without I/O.

A body is limited three times: on the wire (raw bytes read), after each content-encoding step
(every decompressor has its own output cap, so ``gzip, gzip`` cannot grow past the cap at any
stage), and after charset decoding (characters). Decompression is incremental with ``max_length``,
so a 2 KB bomb never becomes more than one chunk beyond the cap. Only ``gzip``/``x-gzip``,
``deflate`` and ``identity`` are accepted (we ask for ``identity``); anything else is refused,
because a codec we cannot bound is a codec we cannot trust.

The charset of an XML body is decided the way XML says it is (XML 1.0 Appendix F): a byte order
mark, else the declaration's ``encoding``, else UTF-16/32 by the pattern of ``<?`` in the first
bytes, else the HTTP ``charset``, else UTF-8. The caller then inspects the decoded text, so a DTD
written in UTF-16 is as visible as one in UTF-8.
"""

from __future__ import annotations

import codecs
import re
import zlib
from collections.abc import Iterable, Iterator
from typing import Final

from labmcp.errors import UpstreamError

CHUNK: Final = 64 * 1024
ACCEPTED_ENCODINGS: Final = frozenset({"gzip", "x-gzip", "deflate", "identity"})


class BodyTooLarge(Exception):
    """A body grew past its cap at some stage; ``stage`` says where (``wire``, ``gzip``, ...)."""

    def __init__(self, stage: str, cap: int) -> None:
        super().__init__(f"{stage} > {cap}")
        self.stage = stage
        self.cap = cap


class BadBody(Exception):
    """A body that cannot be decoded safely: an unknown content coding or corrupt compressed data."""


class _Inflate:
    """One decompression step of a stream: gzip members or a zlib/raw deflate stream, bounded."""

    def __init__(self, name: str, cap: int) -> None:
        self.name = name
        self._cap = cap
        self._out = 0
        self._decoder: zlib._Decompress | None = None  # created on the first bytes (deflate sniffing)
        self._ended = False

    def _new(self, first: bytes) -> zlib._Decompress:
        if self.name in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        # "deflate" is zlib-wrapped per RFC 9110, but servers send raw deflate too (as httpx accepts).
        wrapped = len(first) >= 2 and (first[0] & 0x0F) == 8 and ((first[0] << 8) | first[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Decompressed pieces of at most CHUNK bytes; raises BodyTooLarge past the cap."""
        while data:
            if self._ended:
                if self.name == "deflate" or not data.lstrip(b"\x00"):
                    return  # trailing padding after the stream: ignored, as zlib does
                self._decoder, self._ended = None, False  # another gzip member follows (RFC 1952 §2.2)
            if self._decoder is None:
                self._decoder = self._new(data)
            try:
                piece = self._decoder.decompress(data, CHUNK)
            except zlib.error:
                raise BadBody(f"answered with a body that is not valid {self.name} data") from None
            data = self._decoder.unconsumed_tail or (self._decoder.unused_data if self._decoder.eof else b"")
            self._ended = self._decoder.eof
            if piece:
                self._out += len(piece)
                if self._out > self._cap:
                    raise BodyTooLarge(f"{self.name}-decoded", self._cap)
                yield piece

    def finish(self) -> Iterator[bytes]:
        if self._decoder is not None and not self._ended:
            # Input is consumed only while output has room, so what is left is at most one match.
            piece = self._decoder.flush(CHUNK)
            self._out += len(piece)
            if self._out > self._cap:
                raise BodyTooLarge(f"{self.name}-decoded", self._cap)
            if piece:
                yield piece


def content_codings(header: str) -> list[str]:
    """The codings of a ``Content-Encoding`` header in the order they were applied; refuses unknown ones."""
    names = [part.strip().lower() for part in header.split(",") if part.strip()]
    unknown = [name for name in names if name not in ACCEPTED_ENCODINGS]
    if unknown:
        raise BadBody(f"answered with Content-Encoding {unknown[0][:32]!r}, which is not accepted")
    return [name for name in names if name != "identity"]


class BoundedBody:
    """Collects a response body: raw bytes capped at ``cap``, each decoding step capped at ``cap``.

    Feed raw chunks with ``feed``; ``finish`` returns the decoded body. ``BodyTooLarge`` is raised
    as soon as any stage passes the cap, before anything more is read or inflated.
    """

    def __init__(self, content_encoding: str, cap: int) -> None:
        self.cap = cap
        self._steps = [_Inflate(name, cap) for name in reversed(content_codings(content_encoding))]
        self._raw = 0
        self._parts: list[bytes] = []
        self._size = 0

    def _through(self, pieces: Iterable[bytes], first_step: int) -> None:
        for piece in pieces:
            if first_step < len(self._steps):
                self._through(self._steps[first_step].feed(piece), first_step + 1)
                continue
            room = self.cap - self._size
            if len(piece) > room:
                self._parts.append(piece[:room])
                self._size = self.cap
                raise BodyTooLarge("body", self.cap)
            self._size += len(piece)
            self._parts.append(piece)

    def expect(self, length: int | None) -> None:
        """Refuse at once a body whose ``Content-Length`` already says it is over the cap."""
        if length is not None and length > self.cap and not self._steps:
            raise BodyTooLarge("announced by Content-Length", self.cap)

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._steps and self._raw > self.cap:  # without codings the body stage cuts it exactly
            raise BodyTooLarge("wire", self.cap)
        self._through((chunk,), 0)

    def finish(self) -> bytes:
        for index, step in enumerate(self._steps):
            self._through(step.finish(), index + 1)
        return self.prefix()

    def prefix(self) -> bytes:
        """The decoded bytes collected so far (at most ``cap``), handed over once."""
        body = b"".join(self._parts)
        self._parts.clear()
        return body


# --- charsets ---------------------------------------------------------------------------------

_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<?" (or "<" then a name) in the first bytes without a BOM, XML 1.0 Appendix F.1.
_PATTERNS: Final = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_DECLARED: Final = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_HTTP_CHARSET: Final = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.IGNORECASE)
_DECLARATION: Final = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


def xml_charset(body: bytes, content_type: str = "") -> tuple[str, int]:
    """The encoding of an XML body and the length of its byte order mark (0 when none)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    for pattern, name in _PATTERNS:
        if body.startswith(pattern):
            return name, 0
    declared = _DECLARED.match(body)
    if declared:
        return declared.group(1).decode("ascii").lower(), 0
    http = _HTTP_CHARSET.search(content_type)
    return (http.group(1).lower() if http else "utf-8"), 0


DECLARATION_WINDOW: Final = 1024
"""Characters held back at the start, so an XML declaration split across chunks is still removed."""


def xml_text_pieces(body: bytes, content_type: str, method: str) -> Iterator[str]:
    """The body as text in its declared encoding, ``CHUNK`` bytes at a time, without its XML
    declaration (it names the old encoding).

    Decoding is incremental, so a large page never exists twice as text (a 3 MB body became 6 MB of
    UCS-2 text and a 19 MB peak when decoded whole). An unknown or non-text encoding, bytes invalid
    in it, or text longer than the body (a codec that expands) is a clear UpstreamError, raised as
    the pieces are drawn; the text never has more characters than the body had bytes.
    """
    name, skip = xml_charset(body, content_type)
    try:
        codec = codecs.lookup(name)
    except LookupError:
        codec = None
    # Only text encodings: Python also "decodes" zlib, bz2 and base64, which would be a bomb by charset.
    if codec is None or not getattr(codec, "_is_text_encoding", True):
        raise UpstreamError(f"LabArchives {method} returned malformed XML (unknown encoding {name!r})", method=method)
    head, total, started = "", 0, False
    for piece in _decoded(codec, memoryview(body)[skip:], method):
        total += len(piece)
        if total > len(body):
            raise UpstreamError(
                f"LabArchives {method} returned XML that its encoding {codec.name!r} expands; refused", method=method
            )
        if started:
            yield piece
            continue
        head += piece
        if len(head) >= DECLARATION_WINDOW:
            started = True
            yield _DECLARATION.sub("", head, count=1)
    if not started:
        yield _DECLARATION.sub("", head, count=1)


def _decoded(codec: codecs.CodecInfo, view: memoryview, method: str) -> Iterator[str]:
    """``view`` decoded ``CHUNK`` bytes at a time; bytes invalid in the codec are an UpstreamError."""
    decoder = codec.incrementaldecoder("strict")
    try:
        for offset in range(0, len(view) + 1, CHUNK):
            piece = decoder.decode(view[offset : offset + CHUNK], final=offset + CHUNK > len(view))
            if not isinstance(piece, str):  # a codec that claims to be text but is not
                raise TypeError(type(piece).__name__)  # noqa: TRY301  # one message for every kind of bad text
            yield piece
    except (UnicodeDecodeError, ValueError, TypeError):
        raise UpstreamError(
            f"LabArchives {method} returned malformed XML (not valid {codec.name})", method=method
        ) from None
