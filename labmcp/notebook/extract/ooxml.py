"""Office Open XML packages (DOCX, XLSX, PPTX) read with the standard library, safely.

Why the standard library: OOXML is a zip of XML parts, and ``zipfile`` plus ``expat`` read it with no
new dependency (the universal .pyz stays small) and with every byte under our control: members are
decompressed through a capped stream (never one unbounded ``read()``), the entry count and the
decompressed total are bounded, XML is parsed incrementally (only the elements asked for are built,
and dropped once handed over), and a DTD or entity declaration is refused in whatever encoding the
part declares (expat decodes first, then reports declarations). Limits come from ``Limits``; a part
over one raises ``ExtractionError`` naming it.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Final
from xml.etree import ElementTree as ET  # only builds elements; parsing is our guarded expat
from xml.parsers import expat  # DTDs and entities are refused in the handlers below

from labmcp.errors import ExtractionError
from labmcp.notebook.extract import Limits, Stop

CHUNK: Final = 64 * 1024
REL_NS: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_ZIP_ERRORS: Final = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)

Want = Callable[[str, int], bool]
"""Whether an element (Clark-notation tag, depth from the root = 0) is to be built and handed over."""


def member_names(data: bytes) -> frozenset[str]:
    """The member names of a zip, or an empty set when it cannot be opened (detection only)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return frozenset(info.filename for info in archive.infolist()[:100_000])
    except _ZIP_ERRORS:
        return frozenset()


def q(ns: str, local: str) -> str:
    """A Clark-notation tag: ``{namespace}local``."""
    return f"{{{ns}}}{local}"


class Package:
    """An OOXML zip opened under ``limits``; parts are read as streams of XML elements."""

    def __init__(self, data: bytes, what: str, limits: Limits, stop: Stop) -> None:
        self.what = what
        self._limits = limits
        self._stop = stop
        self._unzipped = 0
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zip.infolist()
        except _ZIP_ERRORS as exc:
            raise ExtractionError(f"the {what} file is not a readable zip package ({type(exc).__name__})") from None
        if len(infos) > limits.max_zip_entries:
            raise ExtractionError(
                f"the {what} file has {len(infos)} zip entries, over the limit of {limits.max_zip_entries}"
            )
        self._infos = {info.filename: info for info in infos}

    def has(self, name: str) -> bool:
        return name in self._infos

    def _chunks(self, name: str) -> Iterator[bytes]:
        """The member's bytes in chunks, counted against the per-member and the total decompressed caps."""
        info = self._infos.get(name)
        if info is None:
            raise ExtractionError(f"the {self.what} file has no part {name!r}; it is not a valid {self.what}")
        member_cap, total_cap = self._limits.max_member_bytes, self._limits.max_unzipped_bytes
        read = 0
        try:
            with self._zip.open(info) as stream:
                while chunk := stream.read(CHUNK):
                    read += len(chunk)
                    self._unzipped += len(chunk)
                    if read > member_cap:
                        raise ExtractionError(
                            f"part {name!r} of the {self.what} file unpacks to more than {member_cap} bytes (the limit)"
                        )
                    if self._unzipped > total_cap:
                        raise ExtractionError(
                            f"the {self.what} file unpacks to more than {total_cap} bytes in total (the limit)"
                        )
                    self._stop()
                    yield chunk
        except _ZIP_ERRORS as exc:
            raise ExtractionError(f"part {name!r} of the {self.what} file is damaged ({type(exc).__name__})") from None

    def elements(self, name: str, want: Want) -> Iterator[ET.Element]:
        """Complete elements of part ``name`` for which ``want(tag, depth)`` holds, in document order."""
        return _elements(self._chunks(name), want, f"part {name!r} of the {self.what} file", self._limits)

    def root(self, name: str) -> ET.Element:
        """The whole part as one element tree (for the small parts: workbook, relationships, styles)."""
        for element in self.elements(name, lambda _tag, depth: depth == 0):
            return element
        raise ExtractionError(f"part {name!r} of the {self.what} file is empty")

    def rels(self, part: str) -> dict[str, tuple[str, str]]:
        """The relationships of ``part``: id -> (type, resolved member name or external URL)."""
        folder, base = posixpath.split(part)
        rels_name = posixpath.join(folder, "_rels", base + ".rels")
        if not self.has(rels_name):
            return {}
        out: dict[str, tuple[str, str]] = {}
        for rel in self.root(rels_name).iter(q(PKG_REL_NS, "Relationship")):
            target = rel.get("Target", "")
            if rel.get("TargetMode") != "External":
                target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
                target = posixpath.normpath(target)
            out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], target)
        return out


class _Builder:
    """Expat handlers that build only the wanted elements (with everything inside them), depth-bounded."""

    def __init__(self, want: Want, what: str, limits: Limits) -> None:
        self.ready: list[ET.Element] = []
        self._want = want
        self._what = what
        self._limits = limits
        self._stack: list[ET.Element] = []
        self._pending: list[str] = []  # character data since the last tag, joined once (never += on a str)
        self._pending_chars = 0
        self._depth = 0

    def refuse(self, *_args: object) -> None:
        raise ExtractionError(f"{self._what} declares a DTD or entities; refused")

    def _flush(self) -> None:
        """Hand the character data since the last tag to the open element (its text or last child's tail)."""
        if self._pending and self._stack:
            parent, data = self._stack[-1], "".join(self._pending)
            if len(parent):
                parent[-1].tail = data
            else:
                parent.text = data
        self._pending.clear()
        self._pending_chars = 0

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        self._flush()
        tag = _clark(tag)
        if self._stack or self._want(tag, self._depth):
            element = ET.Element(tag, {_clark(k): v for k, v in attrs.items()})
            if self._stack:
                self._stack[-1].append(element)
            self._stack.append(element)
        self._depth += 1
        if self._depth > self._limits.max_xml_depth:
            raise ExtractionError(f"{self._what} nests elements deeper than {self._limits.max_xml_depth} (the limit)")

    def end(self, _tag: str) -> None:
        self._flush()
        self._depth -= 1
        if self._stack:
            element = self._stack.pop()
            if not self._stack:
                self.ready.append(element)

    def text(self, data: str) -> None:
        if not self._stack:
            return
        self._pending_chars += len(data)
        if self._pending_chars > self._limits.max_text_chars:
            cap = self._limits.max_text_chars
            raise ExtractionError(f"{self._what} has a run of text longer than {cap} characters (the limit)")
        self._pending.append(data)


def _elements(chunks: Iterator[bytes], want: Want, what: str, limits: Limits) -> Iterator[ET.Element]:
    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = _Builder(want, what, limits)
    parser.StartDoctypeDeclHandler = builder.refuse
    parser.EntityDeclHandler = builder.refuse
    parser.UnparsedEntityDeclHandler = builder.refuse
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.text
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
            yield from builder.ready
            builder.ready.clear()
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise ExtractionError(f"{what} is not well-formed XML ({expat.ErrorString(exc.code)})") from None
    yield from builder.ready


def _clark(name: str) -> str:
    return "{" + name if "}" in name else name
