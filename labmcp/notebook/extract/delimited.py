"""CSV and TSV at a glance: the column list, the row count and a Markdown table of the first rows.

Instrument exports often open with a few lines of preamble before the real header, so the header
is the first row that has the most common number of fields; rows before it are counted as preamble.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from labmcp.notebook.extract.markup import table_head, table_row

PREVIEW_ROWS: Final = 20
MAX_PREVIEW_COLUMNS: Final = 30


@dataclass(frozen=True, slots=True)
class Preview:
    """What a delimited file holds: its header, data row count, preamble lines, and a Markdown table."""

    columns: tuple[str, ...]
    rows: int
    preamble: int
    table: str


def delimiter_for(filename: str, content_type: str) -> str | None:
    """``,`` or tab when the file is CSV or TSV by its name or declared type, else None."""
    name = filename.lower()
    ctype = content_type.split(";", maxsplit=1)[0].strip().lower()
    if name.endswith((".tsv", ".tab")) or ctype == "text/tab-separated-values":
        return "\t"
    if name.endswith(".csv") or ctype in ("text/csv", "application/csv"):
        return ","
    return None


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` one at a time (with their ends), without a list or a copy of the whole text."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _rows(text: str, delimiter: str) -> Iterator[list[str]]:
    return (row for row in csv.reader(_lines(text), delimiter=delimiter) if any(f.strip() for f in row))


def preview(text: str, delimiter: str, limit: int = PREVIEW_ROWS) -> Preview | None:
    """The preview of a delimited text, or None when it does not parse as such (a field over csv's limit).

    Two streaming passes (field counts, then header and rows), so memory does not grow with the file.
    """
    try:
        widths = Counter(len(row) for row in _rows(text, delimiter))
        if not widths:
            return None
        width = widths.most_common(1)[0][0]
        header: list[str] | None = None
        preamble, count = 0, 0
        first: list[list[str]] = []
        for row in _rows(text, delimiter):
            if header is None:
                if len(row) == width:
                    header = row
                else:
                    preamble += 1
                continue
            count += 1
            if len(first) < limit:
                first.append(row)
    except csv.Error:
        return None
    if header is None:  # unreachable (a row of the most common width exists); keeps the type checker sure
        return None
    shown = [h.strip() for h in header][:MAX_PREVIEW_COLUMNS]
    lines = [table_head(shown)]
    lines += [table_row([*(r[: len(shown)]), *[""] * (len(shown) - len(r))]) for r in first]
    return Preview(tuple(h.strip() for h in header), count, preamble, "\n".join(lines))
