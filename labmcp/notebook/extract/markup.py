"""Markdown out of extracted text: escaping of plain text and table cells, and HTML for the shared renderer.

Documents with structure (DOCX, PPTX) are written as a small HTML fragment and turned into Markdown by
``html_to_markdown``, so their headings, lists and tables get exactly the layout (and escaping) of
notebook HTML entries. Plain text (PDF pages, spreadsheet cells) is escaped here, character by
character, only where a character could start Markdown markup, so words and numbers stay searchable.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

_INLINE: Final = re.compile(r"[\\`*<>\[\]|~]|_(?!(?<=[^\W_]_)[^\W_])|&(?=#?\w+;)")
_LINE_START: Final = re.compile(r"\s{0,3}(?:#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|=+\s*$|-+\s*$|[0-9]{1,9}[.)](?=\s|$))")
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES: Final = re.compile(r"\s+")


def clean(text: str) -> str:
    """Text without control characters or lone surrogates (a tab and line ends stay)."""
    return _CONTROL.sub("", text)


def escape_inline(text: str) -> str:
    """``text`` with a backslash before each character that could open Markdown markup."""
    return _INLINE.sub(lambda m: "\\" + m.group(0), text)


def escape_line(line: str) -> str:
    """One line of plain text as Markdown that shows exactly these characters."""
    line = escape_inline(clean(line).replace("\t", " "))
    m = _LINE_START.match(line)
    if m:
        cut = m.end() - 1 if line[m.end() - 1 : m.end()] in ".)" else len(line) - len(line.lstrip())
        line = line[:cut] + "\\" + line[cut:]
    return line


def plain_text(text: str) -> str:
    """Plain text (lines kept, blank lines between paragraphs) as Markdown."""
    lines = [escape_line(line).rstrip() for line in clean(text).splitlines()]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip("\n")


def cell(text: str) -> str:
    """A table cell: one line, escaped, pipes included."""
    return escape_inline(_SPACES.sub(" ", clean(text)).strip())


def table_head(columns: Sequence[str]) -> str:
    """A Markdown table's header row and separator row."""
    return "| " + " | ".join(cell(c) or " " for c in columns) + " |\n|" + "---|" * len(columns)


def table_row(values: Sequence[str]) -> str:
    return "| " + " | ".join(cell(v) for v in values) + " |"


@dataclass(slots=True)
class GridCell:
    """A table cell of a document, with its spans, before it becomes HTML."""

    text: str
    colspan: int = 1
    rowspan: int = 1


def html_text(text: str) -> str:
    """Plain text for an HTML fragment: escaped, line breaks as ``<br>``."""
    return "<br>".join(html.escape(clean(line), quote=False) for line in text.split("\n"))


def html_table(rows: Sequence[Sequence[GridCell]], header: bool = True) -> str:
    """An HTML table (first row as header cells when ``header``) for the shared HTML→Markdown table layout."""
    out = ["<table>"]
    for n, row in enumerate(rows):
        tag = "th" if header and n == 0 else "td"
        cells = []
        for c in row:
            span = (f' colspan="{c.colspan}"' if c.colspan > 1 else "") + (
                f' rowspan="{c.rowspan}"' if c.rowspan > 1 else ""
            )
            cells.append(f"<{tag}{span}>{html_text(c.text)}</{tag}>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "".join(out)
