"""Pure helpers of the notebook service: how an attachment can be shown, and search snippets."""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from labmcp.labarchives.models import Entry
from labmcp.notebook.markdown import html_to_markdown

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


def snippet(entry: Entry, query: str) -> str:
    """A one-line excerpt of a search hit around the first query word it contains."""
    raw = entry.entry_data or entry.caption or ""
    if entry.part_type == "text entry":
        raw = html_to_markdown(raw)
    text = " ".join(raw.split())
    if len(text) <= SEARCH_SNIPPET_CHARS:
        return text
    words = [w.strip('"').casefold() for w in query.split() if w.upper() not in ("AND", "OR", "NOT")]
    low = text.casefold()
    pos = min((i for i in (low.find(w) for w in words if w) if i >= 0), default=0)
    start = max(0, pos - SEARCH_SNIPPET_CHARS // 3)
    piece = text[start : start + SEARCH_SNIPPET_CHARS]
    return ("…" if start else "") + piece + ("…" if start + SEARCH_SNIPPET_CHARS < len(text) else "")
