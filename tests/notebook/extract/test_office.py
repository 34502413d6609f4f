"""DOCX, XLSX and PPTX made by python-docx, openpyxl and python-pptx (and read back by them) against
what labmcp extracts, as a CommonMark + GFM parser reads our Markdown (ECMA-376)."""

from __future__ import annotations

import io
from datetime import date, datetime

import docx
import openpyxl
import pptx
from pptx.util import Inches

from labmcp.fake import demo_office
from labmcp.notebook.extract import detect, extract
from tests.notebook.extract.judges import headings, list_items, plain, tables


def _save(document: object) -> bytes:
    out = io.BytesIO()
    document.save(out)  # type: ignore[attr-defined]
    return out.getvalue()


def _word() -> bytes:
    d = docx.Document()
    d.add_heading("Western blot report", 0)
    d.add_heading("Methods", 1)
    d.add_paragraph("Lysates in RIPA; 20 µg per lane & 10% gel; p53_KO clones *only* <b>.")
    d.add_heading("Antibody details", 2)
    d.add_paragraph("anti-p53 DO-1", style="List Bullet")
    d.add_paragraph("anti-p21 12D1", style="List Bullet")
    d.add_paragraph("Block 1 h", style="List Number")
    d.add_paragraph("Incubate overnight", style="List Number")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([["Lane", "Sample", "Signal | a.u."], ["1", "WT", "1.00"], ["2", "KO-1", "0.04"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("1. Not a list: a paragraph that starts with a number.")
    return _save(d)


def test_docx_headings_paragraphs_lists_and_tables_match_python_docx() -> None:
    data = _word()
    assert detect(data) == "docx"
    markdown = extract("docx", data).parts[0].body
    judge = docx.Document(io.BytesIO(data))
    assert headings(markdown) == [(1, "Western blot report"), (1, "Methods"), (2, "Antibody details")]
    assert list_items(markdown) == [
        ("bullet", "anti-p53 DO-1"),
        ("bullet", "anti-p21 12D1"),
        ("ordered", "Block 1 h"),
        ("ordered", "Incubate overnight"),
    ]
    seen = plain(markdown)
    for paragraph in judge.paragraphs:
        assert paragraph.text in seen
    [table] = tables(markdown)
    assert table == [[cell.text for cell in row.cells] for row in judge.tables[0].rows]


def test_docx_merged_cells_keep_each_value_under_its_column() -> None:
    d = docx.Document()
    t = d.add_table(rows=3, cols=3)
    for r in range(3):
        for c in range(3):
            t.cell(r, c).text = f"r{r}c{c}"
    t.cell(1, 0).merge(t.cell(2, 0))  # a vertical merge (vMerge) in the first column
    markdown = extract("docx", _save(d)).parts[0].body
    [table] = tables(markdown)
    assert table[0] == ["r0c0", "r0c1", "r0c2"]
    assert table[1][1:] == ["r1c1", "r1c2"] and table[2][1:] == ["r2c1", "r2c2"]
    assert table[1][0].startswith("r1c0") and table[2][0] == ""


def test_xlsx_cells_match_openpyxl_per_sheet_with_used_range() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Plate A450"
    ws.append(["Well", "A450", "Sample", "Flag", "Read on", "Note"])
    for i in range(1, 41):
        ws.append([f"A{i}", round(0.05 * i, 3), f"S{i:02d}", i % 2 == 0, datetime(2026, 3, 1 + i % 28), "x|y *z*"])
    ws["H5"] = datetime(2026, 3, 12, 10, 30)
    other = wb.create_sheet("Run | info")
    other["C3"] = "free text"
    other["D7"] = 42
    data = _save(wb)
    assert detect(data) == "xlsx"
    doc = extract("xlsx", data)
    judge = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    assert [p.title.split(" — ")[0] for p in doc.parts] == [f"Sheet '{s.title}'" for s in judge.worksheets]
    assert "used range A1:H41" in doc.parts[0].title and "used range C3:D7" in doc.parts[1].title
    for part, sheet in zip(doc.parts, judge.worksheets, strict=True):
        [table] = tables(part.body)
        columns = table[0][1:]
        ours = {(int(row[0]), col): value for row in table[1:] for col, value in zip(columns, row[1:], strict=True)}
        for row in sheet.iter_rows():
            for c in row:
                if c.value is None:
                    continue
                assert _same(ours[(c.row, c.column_letter)], c.value), (c.coordinate, ours[(c.row, c.column_letter)])


def _same(ours: str, value: object) -> bool:
    if isinstance(value, bool):
        return ours == ("TRUE" if value else "FALSE")
    if isinstance(value, datetime):
        return ours == (value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" "))
    if isinstance(value, date):
        return ours == value.isoformat()
    if isinstance(value, int | float):
        return float(ours) == value
    return ours == str(value)


def test_xlsx_formulas_show_their_cached_values_as_openpyxl_reads_them() -> None:
    data = demo_office.xlsx([("Calc", [["x", "2x"], [1.5, ("=A2*2", 3.0)], [2, ("=A3*2", 4)]])])
    judge = openpyxl.load_workbook(io.BytesIO(data), data_only=True).active
    [table] = tables(extract("xlsx", data).parts[0].body)
    assert [float(r[2]) for r in table[2:]] == [judge["B2"].value, judge["B3"].value]


def test_xlsx_windows_of_a_long_sheet_repeat_the_header() -> None:
    from labmcp.notebook.documents import window  # noqa: PLC0415

    rows: list[list[demo_office.Cell]] = [["Well", "A450"], *([f"W{i}", i / 10] for i in range(2000))]
    doc = extract("xlsx", demo_office.xlsx([("Long", rows)]))
    first = window(doc, 0, 2_000)
    second = window(doc, first.piece.end, 2_000)
    assert second.context.startswith("[… continuing Sheet 'Long'")
    [table] = tables(second.context + second.piece.text)
    assert table[0] == ["Row", "A", "B"] and all(len(r) == 3 for r in table)


def test_pptx_titles_text_tables_and_notes_match_python_pptx() -> None:
    deck = pptx.Presentation()
    s1 = deck.slides.add_slide(deck.slide_layouts[0])
    s1.shapes.title.text = "TP53 knock-out"
    s1.placeholders[1].text = "Lab meeting, March 2026"
    s2 = deck.slides.add_slide(deck.slide_layouts[1])
    s2.shapes.title.text = "Results"
    frame = s2.placeholders[1].text_frame
    frame.text = "p53 absent in KO-1"
    sub = frame.add_paragraph()
    sub.text, sub.level = "p21 reduced > 80 %", 1
    s2.notes_slide.notes_text_frame.text = "Mention the densitometry PDF."
    s3 = deck.slides.add_slide(deck.slide_layouts[5])
    s3.shapes.title.text = "Ct values"
    grid = s3.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for r, row in enumerate([["Target", "Ct"], ["GAPDH", "18.2"]]):
        for c, value in enumerate(row):
            grid.cell(r, c).text = value
    data = _save(deck)
    assert detect(data) == "pptx"
    doc = extract("pptx", data)
    judge = pptx.Presentation(io.BytesIO(data))
    assert [p.title for p in doc.parts] == [f"Slide {n}: {s.shapes.title.text}" for n, s in enumerate(judge.slides, 1)]
    assert "Lab meeting, March 2026" in plain(doc.parts[0].body)
    assert list_items(doc.parts[1].body) == [("bullet", "p53 absent in KO-1"), ("bullet", "p21 reduced > 80 %")]
    notes = judge.slides[1].notes_slide.notes_text_frame.text
    assert notes in plain(doc.parts[1].body)
    assert tables(doc.parts[2].body) == [[["Target", "Ct"], ["GAPDH", "18.2"]]]


def test_the_demo_office_files_open_in_the_reference_readers() -> None:
    """The fake's generated Word and Excel files are valid: python-docx and openpyxl open them."""
    from labmcp.fake.demo import _elisa_workbook, _meeting_deck, _western_report  # noqa: PLC0415

    assert any("p53" in p.text for p in docx.Document(io.BytesIO(_western_report())).paragraphs)
    assert openpyxl.load_workbook(io.BytesIO(_elisa_workbook()), data_only=True).sheetnames == [
        "Plate A450",
        "Run info",
    ]
    assert detect(_meeting_deck()) == "pptx" and len(extract("pptx", _meeting_deck()).parts) == 3
