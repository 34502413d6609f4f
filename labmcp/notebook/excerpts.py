"""Pure helpers of the notebook service: how an attachment can be shown, and search snippets."""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePosixPath

from labmcp.labarchives.models import Entry
from labmcp.notebook import htmlscan
from labmcp.notebook.markdown import replace_data_uris

# fmt: off
TEXT_EXTENSIONS = frozenset({
    "csv", "tsv", "txt", "text", "json", "md", "markdown", "xml", "yaml", "yml", "log", "ini", "cfg", "conf",
    "toml", "fasta", "fa", "fastq", "gb", "gbk", "sam", "vcf", "bed", "gff", "py", "r", "m", "jl", "sh", "sql",
    "tex", "bib", "html", "htm", "svg", "rtf",
})
# fmt: on
"""File extensions shown inline as text (data, sequences, code, markup), whatever type LabArchives reports."""
TEXT_TYPES = frozenset(
    {"application/json", "application/xml", "application/x-yaml", "application/yaml", "application/csv"}
)
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SEARCH_SNIPPET_CHARS = 280
SNIPPET_WINDOW = 800
"""Characters of the raw entry read on each side of the match to make a snippet."""
SNIPPET_TRIES = 50
"""Matches inside HTML tags skipped at most before giving up on a match."""


def attachment_kind(entry: Entry) -> str:
    """How an attachment can be shown: ``text``, ``image`` or ``binary``, by type then extension."""
    ctype = entry.attach_content_type.split(";")[0].strip().lower()
    ext = PurePosixPath(entry.attach_file_name).suffix.lower().lstrip(".")
    if ctype in IMAGE_TYPES:
        return "image"
    if ctype.startswith("text/") or ctype in TEXT_TYPES or ctype.endswith(("+json", "+xml")):
        return "text"
    if ext in TEXT_EXTENSIONS and not ctype.startswith(("image/", "audio/", "video/")):
        return "text"
    if not ctype and mimetypes.guess_type(entry.attach_file_name)[0] in IMAGE_TYPES:
        return "image"
    return "binary"


class _Text:
    """Collects the text of an HTML piece: tags are word breaks, script and style are dropped."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.parts:
            self.parts.pop()  # the raw text read since the start tag
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _first(raw: str, words: list[str], start: int) -> tuple[int, int]:
    """(start, end) of a query word at or after ``start``, any case; (-1, -1) if none.

    Any occurrence makes a snippet, so the spellings are tried one after the other with
    ``str.find`` (a fast scan): as typed, lower, Title, UPPER; a case-insensitive regular
    expression, twenty times slower on megabytes, runs only when they all miss.
    """
    for word in words:
        for form in dict.fromkeys((word, word.lower(), word.title(), word.upper())):
            at = raw.find(form, start)
            if at >= 0:
                return at, at + len(form)
    m = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE).search(raw, start)
    return (m.start(), m.end()) if m else (-1, -1)


def _find(raw: str, words: list[str], html: bool) -> int:
    """Where the first query word occurs in ``raw`` (outside tags for HTML), or -1."""
    if not words:
        return -1
    pos = 0
    for _ in range(SNIPPET_TRIES):
        start, end = _first(raw, words, pos)
        if start < 0:
            return -1
        if not html or raw.rfind("<", 0, start) <= raw.rfind(">", 0, start):
            return start
        pos = raw.find(">", end)
        if pos < 0:
            return -1
    return -1


def snippet(entry: Entry, query: str) -> str:
    """A one-line plain-text excerpt of a search hit around the first query word it contains.

    Only a window of the entry around the match is read and converted, so the cost does not grow
    with the entry's size. Plain text: callers escape it (``escape.escape_text``).
    """
    raw = entry.entry_data or entry.caption or ""
    html = entry.part_type == "text entry"
    words = [w.strip('"') for w in query.split() if w.upper() not in ("AND", "OR", "NOT")]
    words = [w for w in words if w]
    pos = _find(raw, words, html)
    start = max(0, pos - SNIPPET_WINDOW) if pos >= 0 else 0
    window = raw[start : start + 2 * SNIPPET_WINDOW]
    if html:
        if start and "<" in window:
            head = window.find(">")
            window = window[head + 1 :] if -1 < head < window.find("<") else window
        cut = window.rfind("<")
        window = window[:cut] if cut > window.rfind(">") else window
        reader = _Text()
        htmlscan.scan(window, reader, frozenset())
        window = "".join(reader.parts)
    text = " ".join(replace_data_uris(window).split())
    low = text.lower()
    at = min((i for i in (low.find(w.lower()) for w in words) if i >= 0), default=0)
    begin = max(0, at - SEARCH_SNIPPET_CHARS // 3) if len(text) > SEARCH_SNIPPET_CHARS else 0
    piece = text[begin : begin + SEARCH_SNIPPET_CHARS]
    more = begin + SEARCH_SNIPPET_CHARS < len(text) or start + 2 * SNIPPET_WINDOW < len(raw)
    return ("…" if begin or start else "") + piece + ("…" if more else "")
