"""Small, valid Office Open XML files for the demo lab (DOCX, XLSX, PPTX), written with zipfile.

They hold only the parts Office needs to open them, in the order and with the content types that
ECMA-376 Part 2 (Open Packaging Conventions) asks for; openpyxl and python-docx read them (tests check).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

_XML: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CT: Final = "http://schemas.openxmlformats.org/package/2006/content-types"
_PR: Final = "http://schemas.openxmlformats.org/package/2006/relationships"
_OD: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_W: Final = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_S: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_P: Final = "http://schemas.openxmlformats.org/presentationml/2006/main"
_A: Final = "http://schemas.openxmlformats.org/drawingml/2006/main"
_OFFICE: Final = "application/vnd.openxmlformats-officedocument"

Cell = str | float | int | tuple[str, float]
"""A spreadsheet cell: text, a number, or a formula with its cached value ``("=B2*2", 0.1)``."""


def _zip(parts: dict[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 5, 9, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, (_XML + text).encode())
    return out.getvalue()


def _types(main: str, main_type: str, overrides: dict[str, str]) -> str:
    items = "".join(f'<Override PartName="/{n}" ContentType="{t}"/>' for n, t in {main: main_type, **overrides}.items())
    return (
        f'<Types xmlns="{_CT}"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        f'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>{items}</Types>'
    )


def _rels(targets: Sequence[tuple[str, str]]) -> str:
    items = "".join(
        f'<Relationship Id="rId{n}" Type="{_OD}/{kind}" Target="{target}"/>'
        for n, (kind, target) in enumerate(targets, 1)
    )
    return f'<Relationships xmlns="{_PR}">{items}</Relationships>'


def _t(text: str) -> str:
    return f'<w:t xml:space="preserve">{escape(text)}</w:t>'


def docx(title: str, blocks: Sequence[tuple[str, object]]) -> bytes:
    """A Word document: ``("h1"|"h2", text)``, ``("p", text)``, ``("bullet", text)``, ``("table", rows)``."""
    body = [f'<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r>{_t(title)}</w:r></w:p>']
    for kind, value in blocks:
        if kind == "table":
            rows = "".join(
                "<w:tr>" + "".join(f"<w:tc><w:p><w:r>{_t(str(c))}</w:r></w:p></w:tc>" for c in row) + "</w:tr>"
                for row in value  # type: ignore[attr-defined]
            )
            body.append(f'<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/></w:tblPr>{rows}</w:tbl>')
            continue
        style = {"h1": "Heading1", "h2": "Heading2", "bullet": "ListBullet"}.get(kind)
        ppr = f'<w:pPr><w:pStyle w:val="{style}"/></w:pPr>' if style else ""
        body.append(f"<w:p>{ppr}<w:r>{_t(str(value))}</w:r></w:p>")
    styles = "".join(
        f'<w:style w:type="paragraph" w:styleId="{sid}"><w:name w:val="{name}"/>{extra}</w:style>'
        for sid, name, extra in (
            ("Title", "Title", ""),
            ("Heading1", "heading 1", '<w:pPr><w:outlineLvl w:val="0"/></w:pPr>'),
            ("Heading2", "heading 2", '<w:pPr><w:outlineLvl w:val="1"/></w:pPr>'),
            ("ListBullet", "List Bullet", '<w:pPr><w:numPr><w:numId w:val="1"/></w:numPr></w:pPr>'),
        )
    )
    numbering = (
        f'<w:numbering xmlns:w="{_W}"><w:abstractNum w:abstractNumId="0"><w:lvl w:ilvl="0">'
        '<w:numFmt w:val="bullet"/><w:lvlText w:val="•"/></w:lvl></w:abstractNum>'
        '<w:num w:numId="1"><w:abstractNumId w:val="0"/></w:num></w:numbering>'
    )
    return _zip(
        {
            "[Content_Types].xml": _types(
                "word/document.xml",
                f"{_OFFICE}.wordprocessingml.document.main+xml",
                {
                    "word/styles.xml": f"{_OFFICE}.wordprocessingml.styles+xml",
                    "word/numbering.xml": f"{_OFFICE}.wordprocessingml.numbering+xml",
                },
            ),
            "_rels/.rels": _rels([("officeDocument", "word/document.xml")]),
            "word/_rels/document.xml.rels": _rels([("styles", "styles.xml"), ("numbering", "numbering.xml")]),
            "word/document.xml": f'<w:document xmlns:w="{_W}"><w:body>{"".join(body)}</w:body></w:document>',
            "word/styles.xml": f'<w:styles xmlns:w="{_W}">{styles}</w:styles>',
            "word/numbering.xml": numbering,
        }
    )


def _column(n: int) -> str:
    out = ""
    while n:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


def xlsx(sheets: Sequence[tuple[str, Sequence[Sequence[Cell]]]]) -> bytes:
    """A workbook with shared strings, numbers, and formulas with cached values."""
    strings: list[str] = []
    index: dict[str, int] = {}
    sheet_parts: dict[str, str] = {}
    for n, (_name, rows) in enumerate(sheets, 1):
        xml_rows = []
        for r, row in enumerate(rows, 1):
            cells = []
            for c, value in enumerate(row, 1):
                ref = f"{_column(c)}{r}"
                if isinstance(value, tuple):
                    cells.append(f'<c r="{ref}"><f>{escape(value[0].lstrip("="))}</f><v>{value[1]!r}</v></c>')
                elif isinstance(value, str):
                    if value not in index:
                        index[value] = len(strings)
                        strings.append(value)
                    cells.append(f'<c r="{ref}" t="s"><v>{index[value]}</v></c>')
                else:
                    cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            xml_rows.append(f'<row r="{r}">{"".join(cells)}</row>')
        last = f"{_column(max((len(r) for r in rows), default=1))}{max(len(rows), 1)}"
        sheet_parts[f"xl/worksheets/sheet{n}.xml"] = (
            f'<worksheet xmlns="{_S}"><dimension ref="A1:{last}"/><sheetData>{"".join(xml_rows)}</sheetData>'
            "</worksheet>"
        )
    sheet_list = "".join(
        f'<sheet name={quoteattr(name)} sheetId="{n}" r:id="rId{n}"/>' for n, (name, _) in enumerate(sheets, 1)
    )
    shared = "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings)
    count = len(sheets)
    return _zip(
        {
            "[Content_Types].xml": _types(
                "xl/workbook.xml",
                f"{_OFFICE}.spreadsheetml.sheet.main+xml",
                {
                    **{p: f"{_OFFICE}.spreadsheetml.worksheet+xml" for p in sheet_parts},
                    "xl/sharedStrings.xml": f"{_OFFICE}.spreadsheetml.sharedStrings+xml",
                },
            ),
            "_rels/.rels": _rels([("officeDocument", "xl/workbook.xml")]),
            "xl/workbook.xml": f'<workbook xmlns="{_S}" xmlns:r="{_OD}"><sheets>{sheet_list}</sheets></workbook>',
            "xl/_rels/workbook.xml.rels": _rels(
                [
                    *((("worksheet", f"worksheets/sheet{n}.xml")) for n in range(1, count + 1)),
                    ("sharedStrings", "sharedStrings.xml"),
                ]
            ),
            "xl/sharedStrings.xml": f'<sst xmlns="{_S}" count="{len(strings)}" uniqueCount="{len(strings)}">'
            f"{shared}</sst>",
            **sheet_parts,
        }
    )


def _shape(ident: int, text_paragraphs: Sequence[str], placeholder: str = "") -> str:
    ph = f'<p:nvPr><p:ph type="{placeholder}"/></p:nvPr>' if placeholder else "<p:nvPr/>"
    paragraphs = "".join(f"<a:p><a:r><a:t>{escape(t)}</a:t></a:r></a:p>" for t in text_paragraphs)
    return (
        f'<p:sp><p:nvSpPr><p:cNvPr id="{ident}" name="Shape {ident}"/><p:cNvSpPr/>{ph}</p:nvSpPr><p:spPr/>'
        f"<p:txBody><a:bodyPr/>{paragraphs}</p:txBody></p:sp>"
    )


def _tree(shapes: str) -> str:
    return (
        '<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>'
        f"<p:grpSpPr/>{shapes}</p:spTree></p:cSld>"
    )


def pptx(slides: Sequence[tuple[str, Sequence[str], str]]) -> bytes:
    """A deck of ``(title, bullet lines, speaker notes)`` slides."""
    parts: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for n, (title, lines, notes) in enumerate(slides, 1):
        shapes = _shape(2, [title], "title") + _shape(3, lines, "body")
        parts[f"ppt/slides/slide{n}.xml"] = f'<p:sld xmlns:p="{_P}" xmlns:a="{_A}">{_tree(shapes)}</p:sld>'
        overrides[f"ppt/slides/slide{n}.xml"] = f"{_OFFICE}.presentationml.slide+xml"
        if notes:
            parts[f"ppt/slides/_rels/slide{n}.xml.rels"] = _rels([("notesSlide", f"../notesSlides/notesSlide{n}.xml")])
            parts[f"ppt/notesSlides/notesSlide{n}.xml"] = (
                f'<p:notes xmlns:p="{_P}" xmlns:a="{_A}">{_tree(_shape(2, [notes], "body"))}</p:notes>'
            )
            overrides[f"ppt/notesSlides/notesSlide{n}.xml"] = f"{_OFFICE}.presentationml.notesSlide+xml"
    ids = "".join(f'<p:sldId id="{255 + n}" r:id="rId{n}"/>' for n in range(1, len(slides) + 1))
    return _zip(
        {
            "[Content_Types].xml": _types(
                "ppt/presentation.xml", f"{_OFFICE}.presentationml.presentation.main+xml", overrides
            ),
            "_rels/.rels": _rels([("officeDocument", "ppt/presentation.xml")]),
            "ppt/presentation.xml": f'<p:presentation xmlns:p="{_P}" xmlns:r="{_OD}"><p:sldIdLst>{ids}</p:sldIdLst>'
            '<p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>',
            "ppt/_rels/presentation.xml.rels": _rels(
                [("slide", f"slides/slide{n}.xml") for n in range(1, len(slides) + 1)]
            ),
            **parts,
        }
    )
