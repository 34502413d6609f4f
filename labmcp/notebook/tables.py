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

from collections.abc import Sequence
from dataclasses import dataclass

MAX_COLUMNS = 64
MAX_COLSPAN = 1_000  # the HTML spec's own limits
MAX_ROWSPAN = 65_534


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell as written in the source: inline Markdown ``text`` (callers escape plain text first),
    its spans (0 or less counts as 1 for colspan; a rowspan of 0 runs to the end of its row group),
    and whether it is a header cell (``<th>``)."""

    text: str
    colspan: int = 1
    rowspan: int = 1
    header: bool = False


@dataclass(frozen=True, slots=True)
class Layout:
    """The laid-out grid: ``slots[r][c]`` is the cell whose top-left slot is (r, c), ``None`` for a slot
    covered by a span or left empty by a short row; ``header_rows`` leading rows are header rows."""

    slots: list[list[Cell | None]]
    header_rows: int
    width: int
    header_spans_into_data: bool


def _clip(value: int, top: int) -> int:
    return max(1, min(value, top))


def layout(rows: Sequence[Sequence[Cell]], head_rows: int = 0) -> Layout:
    """The grid a browser forms from ``rows``; the first ``head_rows`` rows are one group (``<thead>``)."""
    if not 0 <= head_rows <= len(rows):
        head_rows = 0
    header_rows = head_rows or next(
        (i for i, row in enumerate(rows) if not row or not all(c.header for c in row)), len(rows)
    )
    if header_rows == len(rows) and not head_rows:
        header_rows = 0  # a table of header cells only: nothing would sit under them
    groups = [(0, head_rows), (head_rows, len(rows))] if head_rows else [(0, len(rows))]
    covered: list[set[int]] = [set() for _ in rows]
    slots: list[list[Cell | None]] = [[] for _ in rows]
    spans_into_data = False
    width = 0
    for start, end in groups:
        for r in range(start, end):
            x = 0
            line = slots[r]
            for cell in rows[r]:
                while x in covered[r]:
                    x += 1
                colspan = _clip(cell.colspan, MAX_COLSPAN)
                rowspan = end - r if cell.rowspan == 0 else _clip(cell.rowspan, min(MAX_ROWSPAN, end - r))
                if r < header_rows <= r + rowspan - 1:
                    spans_into_data = True
                line.extend([None] * (x - len(line)))
                line.append(cell)
                line.extend([None] * (colspan - 1))
                for below in range(r + 1, r + rowspan):
                    covered[below].update(range(x, x + colspan))
                x += colspan
            width = max(width, x, max(covered[r], default=-1) + 1)
    for line in slots:
        line.extend([None] * (width - len(line)))
    return Layout(slots, header_rows, width, spans_into_data)


def _cell_text(text: str) -> str:
    """A cell's Markdown on one line: line breaks as ``<br>``, pipes escaped so they cannot split it."""
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "<br>".join(line for line in lines if line).replace("|", "\\|")


def _header_names(grid: Layout) -> list[str]:
    """One header per column: the header rows' texts covering that column, top to bottom."""
    names: list[list[str]] = [[] for _ in range(grid.width)]
    for r in range(grid.header_rows):
        for c, cell in enumerate(grid.slots[r]):
            if cell is None:
                continue
            text = _cell_text(cell.text)
            for col in range(c, min(c + _clip(cell.colspan, MAX_COLSPAN), grid.width)):
                if text and (not names[col] or names[col][-1] != text):
                    names[col].append(text)
    return [" / ".join(parts) for parts in names]


def _row(values: Sequence[str]) -> str:
    return "| " + " | ".join(values) + " |"


def gfm_table(rows: Sequence[Sequence[Cell]], *, head_rows: int = 0, max_columns: int = MAX_COLUMNS) -> str:
    """``rows`` as a GFM pipe table (no trailing newline), preceded by a note line when GFM cannot
    show the grid as laid out; "" when no cell has any text."""
    grid = layout(rows, head_rows)
    body = [[_cell_text(c.text) if c else "" for c in line] for line in grid.slots[grid.header_rows :]]
    header = _header_names(grid)
    if not any(header) and not any(any(line) for line in body):
        return ""
    notes = []
    if grid.header_spans_into_data:
        notes.append("a header cell spans into data rows; it is shown in the header row only")
    if grid.width > max_columns:
        notes.append(
            f"it has {grid.width} columns; columns {max_columns} to {grid.width} are shown together "
            f"in column {max_columns}, separated by ' ¦ '"
        )
        keep = max_columns - 1
        header = [*header[:keep], " ¦ ".join(h for h in header[keep:] if h)]
        body = [[*line[:keep], " ¦ ".join(v for v in line[keep:] if v)] for line in body]
    width = len(header)
    lines = [_row(header), "|" + " --- |" * width]
    lines += [_row(line) for line in body if any(line) or len(body) == 1]
    if notes:
        lines.insert(0, "[Table note: " + "; ".join(notes) + ".]\n")
    return "\n".join(lines)
