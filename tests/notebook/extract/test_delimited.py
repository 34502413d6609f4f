"""CSV/TSV previews: columns, row count after a preamble, and a table that a GFM reader sees cell by cell."""

from __future__ import annotations

from labmcp.notebook.extract.delimited import delimiter_for, preview
from tests.notebook.extract.judges import tables

EXPORT = (
    "Plate reader export,SpectraMax iD5\r\n"
    "Read,Absorbance 450 nm\r\n"
    "\r\n"
    "Well,Sample,A450,Note\r\n"
    'A1,"KO-1, sup",0.42,"two\nlines"\r\n'
    "A2,WT|ctrl,0.79,*star*\r\n"
)


def test_the_header_follows_the_preamble_and_cells_survive_quotes_pipes_and_markup() -> None:
    shown = preview(EXPORT, ",")
    assert shown is not None
    assert shown.columns == ("Well", "Sample", "A450", "Note") and shown.rows == 2 and shown.preamble == 2
    [table] = tables(shown.table)
    assert table == [
        ["Well", "Sample", "A450", "Note"],
        ["A1", "KO-1, sup", "0.42", "two lines"],
        ["A2", "WT|ctrl", "0.79", "*star*"],
    ]


def test_only_the_first_rows_are_shown_but_all_are_counted() -> None:
    text = "x\ty\n" + "".join(f"{i}\t{i * i}\n" for i in range(500))
    shown = preview(text, "\t", limit=5)
    assert shown is not None and shown.rows == 500
    assert len(tables(shown.table)[0]) == 6


def test_delimiter_by_name_or_declared_type() -> None:
    assert delimiter_for("qpcr.TSV", "") == "\t"
    assert delimiter_for("export.txt", "text/csv; charset=utf-8") == ","
    assert delimiter_for("notes.txt", "text/plain") is None
