"""CSV and TSV at a glance: the column list, the row count and a Markdown table of the first rows.

Instrument exports often open with a few lines of preamble before the real header, so the header
is the first row that has the most common number of fields; rows before it are counted as preamble.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
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


def preview(text: str, delimiter: str, limit: int = PREVIEW_ROWS) -> Preview | None:
    """The preview of a delimited text, or None when it does not parse as such (a field over csv's limit)."""
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(f.strip() for f in row)]
    except csv.Error:
        return None
    if not rows:
        return None
    width = Counter(len(r) for r in rows).most_common(1)[0][0]
    start = next(i for i, r in enumerate(rows) if len(r) == width)
    header = [h.strip() for h in rows[start]][:MAX_PREVIEW_COLUMNS]
    data = rows[start + 1 :]
    lines = [table_head(header)]
    lines += [table_row([*(r[: len(header)]), *[""] * (len(header) - len(r))]) for r in data[:limit]]
    return Preview(tuple(h.strip() for h in rows[start]), len(data), start, "\n".join(lines))
