"""Excel workbooks (XLSX, ECMA-376 SpreadsheetML) as one Markdown table per sheet.

Each sheet is a part titled with its name and used range; its table has the column letters as header
and the row number as first column, so every window of a long sheet reads as the same table (the
header is repeated). Cells show what Excel last computed: a formula by its cached value, shared and
inline strings, numbers as stored, booleans as TRUE/FALSE, errors as their code, and date-formatted
numbers as ISO dates (1900 or 1904 date system, as the workbook says).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Final
from xml.etree import ElementTree as ET  # elements only; parsing is ooxml's guarded expat

from labmcp.digits import digits_or_none, is_digits
from labmcp.errors import ExtractionError
from labmcp.notebook.extract import Document, Limits, Part, Stop
from labmcp.notebook.extract.markup import table_head, table_row
from labmcp.notebook.extract.ooxml import REL_NS, Package, q

S: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
WORKBOOK: Final = "xl/workbook.xml"
_CELL_REF: Final = re.compile(r"([A-Z]{1,3})([0-9]+)")
# Built-in number formats that are dates or times (ECMA-376 Part 1, §18.8.30).
_DATE_FORMATS: Final = frozenset({*range(14, 23), *range(45, 48), *range(27, 37), *range(50, 59)})
_DATE_CODE: Final = re.compile(r"\[[^\]]*\]|\"[^\"]*\"|\\.")


def _s(local: str) -> str:
    return q(S, local)


def column_letters(index: int) -> str:
    """1 -> A, 27 -> AA."""
    out = ""
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(65 + rest) + out
    return out


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _is_date_format(code: str) -> bool:
    bare = _DATE_CODE.sub("", code).lower()
    return any(ch in bare for ch in "dmyhs") and "general" not in bare


def excel_date(serial: float, date1904: bool) -> str:
    """An Excel serial date as ISO text: ``2026-03-14``, ``2026-03-14 10:30:00`` or ``10:30:00``."""
    # Serials below 61 sit before Excel's phantom 1900-02-29; openpyxl shifts them the same way.
    base = datetime(1904, 1, 1) if date1904 else datetime(1899, 12, 31 if serial < 61 else 30)
    moment = base + timedelta(days=serial)
    moment = (moment + timedelta(microseconds=500_000)).replace(microsecond=0) if serial % 1 else moment
    if 0 <= serial < 1:
        return moment.time().isoformat()
    if moment.hour == moment.minute == moment.second == 0:
        return moment.date().isoformat()
    return moment.isoformat(sep=" ")


class _Workbook:
    def __init__(self, package: Package) -> None:
        self._package = package
        root = package.root(WORKBOOK)
        pr = root.find(_s("workbookPr"))
        self.date1904 = pr is not None and pr.get("date1904", "0").lower() in ("1", "true")
        rels = package.rels(WORKBOOK)
        self.sheets: list[tuple[str, str, str]] = []
        for sheet in root.iter(_s("sheet")):
            rel = rels.get(sheet.get(q(REL_NS, "id"), ""))
            if rel is not None and rel[0] == "worksheet":
                self.sheets.append((sheet.get("name", "?"), rel[1], sheet.get("state", "visible")))
        styles_path = next((target for kind, target in rels.values() if kind == "styles"), "")
        strings_path = next((target for kind, target in rels.values() if kind == "sharedStrings"), "")
        self.date_styles = self._date_styles(styles_path)
        self.strings = self._shared_strings(strings_path)

    def _date_styles(self, path: str) -> frozenset[int]:
        if not path or not self._package.has(path):
            return frozenset()
        root = self._package.root(path)
        custom = {
            int(f.get("numFmtId", "0")): _is_date_format(f.get("formatCode", ""))
            for f in root.iter(_s("numFmt"))
            if is_digits(f.get("numFmtId", ""))
        }
        xfs = root.find(_s("cellXfs"))
        dates = set()
        for n, xf in enumerate(xfs.findall(_s("xf")) if xfs is not None else ()):
            fmt = digits_or_none(xf.get("numFmtId", "0")) or 0
            if custom.get(fmt, fmt in _DATE_FORMATS):
                dates.add(n)
        return frozenset(dates)

    def _shared_strings(self, path: str) -> list[str]:
        if not path or not self._package.has(path):
            return []
        # Phonetic runs (rPh) are reading aids, not cell text.
        return [
            "".join(t.text or "" for r in (si, *si.findall(_s("r"))) for t in r.findall(_s("t")))
            for si in self._package.elements(path, lambda tag, depth: depth == 1 and tag == _s("si"))
        ]


def _value(c: ET.Element, book: _Workbook) -> str:
    kind = c.get("t", "n")
    v = c.find(_s("v"))
    raw = v.text if v is not None and v.text is not None else ""
    if kind == "s":
        index = digits_or_none(raw)
        return book.strings[index] if index is not None and index < len(book.strings) else ""
    if kind == "inlineStr":
        inline = c.find(_s("is"))
        return "".join(t.text or "" for t in inline.iter(_s("t"))) if inline is not None else ""
    if kind == "b":
        return "TRUE" if raw.strip() in ("1", "true") else "FALSE"
    if kind in ("str", "e", "d"):
        return raw
    style = c.get("s", "0")
    if raw and digits_or_none(style) in book.date_styles and raw.isascii():
        try:
            return excel_date(float(raw), book.date1904)
        except (ValueError, OverflowError):
            return raw
    return raw


def _sheet(
    package: Package, book: _Workbook, name: str, path: str, limits: Limits, stop: Stop, budget: int
) -> tuple[Part, dict[str, object], list[str]]:
    rows: list[tuple[int, dict[int, str]]] = []
    notes: list[str] = []
    formulas_without_value = 0
    min_col, max_col, chars, count = 0, 0, 0, 0
    want_rows = lambda tag, depth: depth == 2 and tag == _s("row")  # noqa: E731
    for row in package.elements(path, want_rows):
        stop()
        number_text = row.get("r", "")
        number = digits_or_none(number_text) or (rows[-1][0] + 1 if rows else 1)
        cells: dict[int, str] = {}
        next_col = 1
        for c in row.findall(_s("c")):
            match = _CELL_REF.fullmatch(c.get("r", ""))
            col = _column_index(match.group(1)) if match else next_col
            next_col = col + 1
            value = _value(c, book)
            if value == "" and c.find(_s("f")) is not None:
                formulas_without_value += 1
            if value != "":
                cells[col] = value
        if not cells:
            continue
        min_col = min(min_col or min(cells), *cells)
        max_col = max(max_col, *cells)
        chars += sum(len(v) + 3 for v in cells.values())
        count += len(cells)
        rows.append((number, cells))
        if chars > budget or count >= limits.max_cells:
            what = f"{limits.max_text_chars} characters" if chars > budget else f"{limits.max_cells} cells"
            notes.append(f"Sheet '{name}' was cut after row {number} (the extraction limit of {what}).")
            break
    last_col = min(max_col, min_col + limits.max_columns - 1) if rows else 0
    if max_col > last_col:
        notes.append(
            f"Sheet '{name}' shows columns {column_letters(min_col)}-{column_letters(last_col)} of "
            f"{column_letters(min_col)}-{column_letters(max_col)} (at most {limits.max_columns} columns)."
        )
    if formulas_without_value:
        notes.append(f"Sheet '{name}': {formulas_without_value} formula cell(s) have no cached value (shown empty).")
    used = f"{column_letters(min_col)}{rows[0][0]}:{column_letters(max_col)}{rows[-1][0]}" if rows else ""
    columns = [column_letters(n) for n in range(min_col, last_col + 1)] if rows else []
    header = table_head(["Row", *columns]) if rows else ""
    lines = [table_row([str(n), *(cells.get(col, "") for col in range(min_col, last_col + 1))]) for n, cells in rows]
    body = header + "\n" + "\n".join(lines) if rows else "(this sheet is empty)"
    title = f"Sheet '{name}'" + (f" — used range {used}, {len(rows)} non-empty row(s)" if rows else "")
    facts: dict[str, object] = {"name": name, "used_range": used, "rows": len(rows)}
    return Part(title, body, header + "\n" if rows else ""), facts, notes


def read(data: bytes, limits: Limits, stop: Stop) -> Document:
    """Every sheet as a Markdown table; ExtractionError when malformed or over a limit."""
    package = Package(data, "XLSX", limits, stop)
    book = _Workbook(package)
    if len(book.sheets) > limits.max_sheets:
        raise ExtractionError(f"the XLSX file has {len(book.sheets)} sheets, over the limit of {limits.max_sheets}")
    parts: list[Part] = []
    sheets: list[dict[str, object]] = []
    notes: list[str] = []
    budget = limits.max_text_chars
    for name, path, state in book.sheets:
        if budget <= 0:
            notes.append(f"Sheet '{name}' and later sheets were left out (the extraction limit of characters).")
            break
        part, facts, sheet_notes = _sheet(package, book, name, path, limits, stop, budget)
        if state != "visible":
            facts["state"] = state
        budget -= len(part.body)
        parts.append(part)
        sheets.append(facts)
        notes.extend(sheet_notes)
    names = ", ".join(f"'{s['name']}' ({s['used_range'] or 'empty'})" for s in sheets)
    return Document(
        kind="xlsx",
        unit="sheet",
        parts=tuple(parts),
        summary=(f"Excel workbook, {len(sheets)} sheet(s): {names}.",),
        notes=tuple(notes),
        facts={"sheets": sheets},
    )
