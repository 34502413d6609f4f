"""Attached files as Markdown: the shared shapes, type detection from the bytes, and the dispatcher.

Each format family has its own module (``pdf``, ``ooxml`` with ``docx``/``xlsx``/``pptx``,
``delimited``), imported only when a file of that family is read, so start-up and idle memory do not
grow. Every extractor is a pure function ``bytes -> Document`` bounded by the counts in ``Limits``;
a file over a limit raises ``ExtractionError`` naming the limit. ``extract`` also takes a ``stop``
callable, checked between units of work (pages, rows, XML chunks), so a caller can end an
extraction that has run too long.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from labmcp.errors import ExtractionError
from labmcp.labarchives.filetype import sniff

__all__ = ["LIMITS", "MIME_TYPES", "Document", "ExtractionError", "Limits", "Part", "detect", "extract"]

Stop = Callable[[], None]
"""Raises ``ExtractionError`` when the extraction must end (its time bound is spent)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The work one extraction may do, in counts and bytes (never wall-clock time inside the pure code)."""

    max_zip_entries: int = 2_000
    max_member_bytes: int = 48 * 1024 * 1024
    max_unzipped_bytes: int = 96 * 1024 * 1024
    max_pages: int = 500
    max_page_content_bytes: int = 4 * 1024 * 1024
    max_stream_bytes: int = 8 * 1024 * 1024
    max_text_chars: int = 1_000_000
    max_columns: int = 50
    max_cells: int = 100_000
    max_sheets: int = 100
    max_slides: int = 500
    max_xml_depth: int = 200


LIMITS: Final = Limits()


@dataclass(frozen=True, slots=True)
class Part:
    """One page, sheet or slide: a title line, its Markdown, and what to repeat when a window starts inside it.

    ``header`` is a table's head (and its separator row) for a window that begins in the table's
    middle, so every window of a sheet reads as a table.
    """

    title: str
    body: str
    header: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    """A file as text: ``kind`` (pdf, docx, xlsx, pptx), the ``unit`` its parts are (page, sheet,
    slide, section), the parts, lines of summary shown first, plain notes on what could not be read,
    and the facts as JSON-ready data."""

    kind: str
    unit: str
    parts: tuple[Part, ...]
    summary: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    no_text: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)


# Kinds that extraction turns into Markdown, by the module that reads them.
_MODULES: Final = {"pdf": "pdf", "docx": "docx", "xlsx": "xlsx", "pptx": "pptx"}
_TEXT_TYPES: Final = frozenset({"text/html", "application/xml", "image/svg+xml", "application/rtf"})
MIME_TYPES: Final = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_OOXML_MAIN: Final = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}


def detect(data: bytes) -> str:
    """The file's kind from its first bytes (``labarchives.filetype.sniff``) and, for zips, their members.

    ``pdf``, ``docx``, ``xlsx``, ``pptx``; ``zip`` for another zip; ``ole`` for legacy Office
    (.doc/.xls/.ppt, not read); ``text`` for UTF-8/UTF-16 text (HTML, XML and SVG included);
    ``binary`` for the rest.
    """
    mime = sniff(data)
    if mime == "application/pdf" or b"%PDF-" in data[:1024]:
        # PDF readers accept the header anywhere in the first KB (ISO 32000-1 §7.5.2 implementation note).
        return "pdf"
    if mime == "application/zip":
        from labmcp.notebook.extract import ooxml  # noqa: PLC0415  # lazily, with zipfile

        names = ooxml.member_names(data)
        return next((kind for name, kind in _OOXML_MAIN.items() if name in names), "zip")
    if mime == "application/x-ole-storage":
        return "ole"
    if mime is not None and mime not in _TEXT_TYPES:
        return "binary"
    if data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return "text"
    sample = data[:65_536]
    if b"\x00" in sample:
        return "binary"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # a character cut at the sample's end is still text
            return "binary"
    return "text"


def extract(kind: str, data: bytes, limits: Limits = LIMITS, stop: Stop | None = None) -> Document:
    """The Markdown of a file of ``kind`` (from ``detect``); ExtractionError when malformed or over a limit."""
    module_name = _MODULES.get(kind)
    if module_name is None:
        raise ExtractionError(f"files of kind {kind!r} cannot be read as text")
    module = importlib.import_module(f"labmcp.notebook.extract.{module_name}")
    reader: Callable[[bytes, Limits, Stop], Document] = module.read
    return reader(data, limits, stop or _never)


def _never() -> None:
    return None
