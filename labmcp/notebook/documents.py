"""Extracted attachments held between windows, and the windows themselves.

An attachment read as a document (PDF, DOCX, XLSX, PPTX) is downloaded and extracted once; its
Markdown stays in the LabArchives cache (bounded in bytes, through the source's ``remember``), keyed
by the entry's id, version, update time and size, so reading it window by window (``start_index``,
``pages``) costs no further download or extraction.
Extraction is CPU work in pure Python: it runs in one worker thread at a time (a page of a hostile
PDF is an indivisible unit of pypdf work, and in a thread the trio loop keeps answering health checks
and other calls meanwhile), bounded in counts by ``extract.Limits`` and in time by ``EXTRACT_SECONDS``,
checked between pages, rows and XML chunks; a cancelled call stops its thread at the next check.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Final, Protocol

import trio

from labmcp.digits import ascii_digits_problem
from labmcp.errors import ExtractionError, InvalidArgumentError
from labmcp.notebook.budget import Slice, slice_text
from labmcp.notebook.extract import Document, Part, extract
from labmcp.notebook.frame import neutralise

EXTRACT_SECONDS: Final = 30.0
"""Most time one extraction may take before it is ended with a clear error."""

_PAGES: Final = re.compile(r"\s*([0-9]{1,6})\s*(?:-\s*([0-9]{1,6})?\s*)?", re.ASCII)


def parse_pages(spec: str, count: int, unit: str) -> tuple[int, int]:
    """``"3-5"``, ``"3"`` or ``"3-"`` as a 0-based half-open range of the document's ``count`` parts."""
    problem = ascii_digits_problem(spec, "pages")
    if problem:
        raise InvalidArgumentError(problem)
    match = _PAGES.fullmatch(spec)
    if match is None:
        raise InvalidArgumentError(f"pages must look like 3, 3-5 or 3- (1-based), got {spec!r}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else (count if "-" in spec else first)
    if first < 1 or last < first:
        raise InvalidArgumentError(f"pages must be a range from 1 upwards, got {spec!r}")
    if first > count:
        raise InvalidArgumentError(f"pages {spec!r} starts past the end: the file has {count} {unit}(s)")
    return first - 1, min(last, count)


@dataclass(frozen=True, slots=True)
class Window:
    """One window of a document's Markdown: the slice, and a line of context for a window that starts
    inside a part (its title, and a table's head to read the rows under)."""

    piece: Slice
    context: str


def _layout(parts: tuple[Part, ...]) -> tuple[str, list[int]]:
    pieces, offsets, at = [], [], 0
    for part in parts:
        text = (f"## {part.title}\n\n" if part.title else "") + part.body.rstrip("\n") + "\n\n"
        offsets.append(at)
        pieces.append(text)
        at += len(text)
    return "".join(pieces), offsets


def window(document: Document, start: int, limit: int, first: int = 0, last: int | None = None) -> Window:
    """Characters ``start`` .. of parts ``first`` .. ``last`` (0-based, half-open) of the document."""
    last = len(document.parts) if last is None else last
    parts = document.parts[first:last]
    text, offsets = _layout(parts)
    piece = slice_text(text, start, limit)
    context = ""
    if piece.start > 0 and piece.text:
        index = max((i for i, at in enumerate(offsets) if at <= piece.start), default=0)
        part = parts[index]
        if offsets[index] != piece.start:
            title_line = len(f"## {part.title}\n\n") if part.title else 0
            past_head = piece.start >= offsets[index] + title_line + len(part.header)
            head = part.header if part.header and past_head else ""
            name = part.title or document.unit
            context = f"[… continuing {name}]\n\n{head}"
    return Window(piece, context)


class Memo(Protocol):
    """Where derived values are kept: the LabArchives source's byte-budgeted cache."""

    def remember(self, key: tuple[Hashable, ...], value: object, size: int | None = None) -> None: ...

    def recall(self, key: tuple[Hashable, ...]) -> object | None: ...


class DocumentStore:
    """Extracted documents kept in the LabArchives cache (one byte budget for downloads and what is made
    of them), keyed by entry id, version, update time and size; one extraction at a time."""

    def __init__(self, memo: Memo) -> None:
        self._memo = memo
        self._limiter = trio.CapacityLimiter(1)

    def get(self, key: tuple[Hashable, ...]) -> Document | None:
        found = self._memo.recall(key)
        return found if isinstance(found, Document) else None

    async def extract(self, key: tuple[Hashable, ...], kind: str, data: bytes, filename: str) -> Document:
        """The document of ``data`` (kind from ``extract.detect``), extracted once and then cached."""
        cached = self.get(key)
        if cached is not None:
            return cached
        stopped = threading.Event()
        deadline = time.monotonic() + EXTRACT_SECONDS

        def stop() -> None:
            if stopped.is_set():
                raise ExtractionError("extraction cancelled")
            if time.monotonic() > deadline:
                raise ExtractionError(f"extraction took longer than {EXTRACT_SECONDS:g} s (the limit)")

        try:
            document = await trio.to_thread.run_sync(
                lambda: extract(kind, data, stop=stop), abandon_on_cancel=True, limiter=self._limiter
            )
        except ExtractionError as exc:
            raise ExtractionError(f"{filename}: {exc}") from None
        finally:
            stopped.set()
        # Frame markers in the file's text are made harmless once, before any window is cut from it.
        parts = tuple(replace(p, body=neutralise(p.body), header=neutralise(p.header)) for p in document.parts)
        document = replace(document, parts=parts)
        self._memo.remember(key, document)
        return document
