"""Tables laid out the way a browser lays them out (the HTML table model), written as GFM pipe tables.

Pure and format-neutral: the input is a grid of ``Cell``s in document order, each with its spans and
whether it is a header cell, so the HTML renderer and document extractors (DOCX, spreadsheets) share
one layout. Layout follows the HTML "forming a table" algorithm: a cell goes to the first column of
its row not already covered by a ``rowspan`` from above, spans are clipped at the end of their row
group, ragged rows are padded.

GFM has one header row and no spans, so:
- a slot covered by a span stays empty; the value sits in the span's first (top-left) slot, under
  the header of the column it starts in;
- the header row is the table's header rows (``head_rows``, else the leading rows made only of header
  cells) merged column by column, ``Plate A / Well``; a header spanning columns names each of them, so
  every value sits under the header it sits under in the browser; a table without header rows gets
  an empty header row rather than promoting data to headers;
- what GFM cannot show without losing the grid is said in a note line before the table (a header
  cell spanning into data rows, columns past ``max_columns``), never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

MAX_COLUMNS = 64
MAX_COLSPAN = 1_000  # the HTML spec's own limits
MAX_ROWSPAN = 65_534
_PIPE = re.compile(r"(?<!\\)\|")


class Cell(NamedTuple):
    """One cell as written in the source: inline Markdown ``text`` (callers escape plain text first),
    its spans (0 or less counts as 1 for colspan; a rowspan of 0 runs to the end of its row group),
    and whether it is a header cell (``<th>``)."""

    text: str
    colspan: int = 1
    rowspan: int = 1
    header: bool = False


def _clip(value: int, top: int) -> int:
    return max(1, min(value, top))


def _cell_text(text: str) -> str:
    """A cell's Markdown on one line: line breaks as ``<br>``, pipes escaped so they cannot split it."""
    if "\n" not in text and "|" not in text and "\r" not in text:
        return text.strip()
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return _PIPE.sub(r"\\|", "<br>".join(line for line in lines if line))


def _row(values: Sequence[str]) -> str:
    return "| " + " | ".join(values) + " |"


class TableBuilder:
    """Builds one table row by row, keeping only the header rows as cells and each data row as one
    string, so memory stays near the size of the output.

    ``row`` takes a row's cells in document order (``head`` for rows of ``<thead>``); ``end_group``
    marks the end of a row group (``<thead>``, ``<tbody>``, ``<tfoot>``): spans stop there.
    """

    def __init__(self, max_columns: int = MAX_COLUMNS) -> None:
        self._max_columns = max_columns
        self._head: list[list[Cell | None]] = []
        self._explicit_head = False
        self._data: list[str] = []  # data rows, written (GFM pads a short row itself)
        self._covered: dict[int, int] = {}  # column -> how many more rows a span covers it
        self._width = 0
        self._spans_into_data = False

    def _place(self, cells: Sequence[Cell]) -> list[Cell | None]:
        line: list[Cell | None] = []
        covered = self._covered
        if not covered and all(c.colspan == 1 and c.rowspan == 1 for c in cells):
            line = list(cells)  # the common row: no spans from above, none of its own
            self._width = max(self._width, len(line))
            return line
        below: dict[int, int] = {c: n - 1 for c, n in covered.items() if n > 1}
        for cell in cells:
            while covered.get(len(line), 0) > 0:
                line.append(None)
            x = len(line)
            colspan = _clip(cell.colspan, MAX_COLSPAN)
            line.append(cell)
            line.extend([None] * (colspan - 1))
            rows = MAX_ROWSPAN if cell.rowspan <= 0 else _clip(cell.rowspan, MAX_ROWSPAN)
            for col in range(x, x + colspan) if rows > 1 else ():
                below[col] = max(below.get(col, 0), rows - 1)
        edge = max((c for c, n in covered.items() if n > 0), default=-1)
        line.extend([None] * (edge + 1 - len(line)))
        self._covered = below
        self._width = max(self._width, len(line))
        return line

    def row(self, cells: Sequence[Cell], *, head: bool = False) -> None:
        """Lay out the next row: a header row while no data row has come, else a data row."""
        if head and not self._data:
            self._explicit_head = True
            self._head.append(self._place(cells))
            return
        candidate = not self._explicit_head and not self._data and cells and all(c.header for c in cells)
        if candidate:
            self._head.append(self._place(cells))
            return
        if not self._data and self._covered and self._head:
            self._spans_into_data = True
        self._data.append(self._write(self._place(cells)))

    def _write(self, line: list[Cell | None]) -> str:
        """A data row as GFM, empty slots at its end left out; "" when it has no text."""
        values = [_cell_text(c.text) if c else "" for c in line]
        while values and not values[-1]:
            values.pop()
        return _row(_fit(values, len(values), self._max_columns)) if values else ""

    def end_group(self) -> None:
        """The end of a row group: spans from it stop here."""
        self._covered = {}

    def _header(self) -> list[str]:
        names: list[list[str]] = [[] for _ in range(self._width)]
        for line in self._head:
            for c, cell in enumerate(line):
                if cell is None:
                    continue
                text = _cell_text(cell.text)
                for col in range(c, min(c + _clip(cell.colspan, MAX_COLSPAN), self._width)):
                    if text and (not names[col] or names[col][-1] != text):
                        names[col].append(text)
        return [" / ".join(parts) for parts in names]

    def markdown(self) -> str:
        """The table as GFM (no trailing newline), after a note line when GFM cannot show its grid;
        "" when no cell has any text."""
        if not self._data and not self._explicit_head:  # header cells only: nothing sits under them
            self._data = [self._write(line) for line in self._head]
            self._head = []
        width, cap = self._width, self._max_columns
        header = self._header()
        rows = [line for line in self._data if line]
        if not any(header) and not rows:
            return ""
        notes = []
        if self._spans_into_data:
            notes.append("a header cell spans into data rows; it is shown in the header row only")
        if width > cap:
            notes.append(
                f"it has {width} columns; columns {cap} to {width} are shown together in column {cap}, "
                "separated by ' ¦ '"
            )
        lines = [_row(_fit(header, width, cap)), "|" + " --- |" * min(width, cap), *rows]
        if notes:
            lines.insert(0, "[Table note: " + "; ".join(notes) + ".]\n")
        return "\n".join(lines)


def _fit(values: list[str], width: int, cap: int) -> list[str]:
    """A row padded to ``width`` columns, with columns from ``cap`` on joined into the last one."""
    values = values + [""] * (width - len(values))
    if width <= cap:
        return values
    return [*values[: cap - 1], " ¦ ".join(v for v in values[cap - 1 :] if v)]


def gfm_table(rows: Sequence[Sequence[Cell]], *, head_rows: int = 0, max_columns: int = MAX_COLUMNS) -> str:
    """``rows`` as a GFM pipe table; the first ``head_rows`` rows form ``<thead>`` (see ``TableBuilder``)."""
    builder = TableBuilder(max_columns)
    for i, row in enumerate(rows):
        builder.row(row, head=i < head_rows)
        if i + 1 == head_rows:
            builder.end_group()
    return builder.markdown()
