"""Word documents (DOCX, ECMA-376 WordprocessingML) as Markdown: headings, paragraphs, lists, tables.

The body is streamed block by block and written as an HTML fragment for ``html_to_markdown``, so a
Word table gets the same grid layout as a table in a notebook entry (merged cells included).
Headings come from paragraph styles (``heading N``, ``Title``) or an outline level; list items from
numbering (on the paragraph or its style), bulleted or numbered as the numbering definition says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from xml.etree import ElementTree as ET  # elements only; parsing is ooxml's guarded expat

from labmcp.digits import digits_or_none
from labmcp.errors import ExtractionError
from labmcp.notebook.extract import Document, Limits, Part, Stop
from labmcp.notebook.extract.markup import GridCell, html_table, html_text
from labmcp.notebook.extract.ooxml import Package, q

W: Final = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R: Final = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN: Final = "word/document.xml"
_HEADING: Final = re.compile(r"heading\s*([0-9])", re.ASCII)


def _w(local: str) -> str:
    return q(W, local)


def _val(element: ET.Element | None, default: str = "") -> str:
    return element.get(_w("val"), default) if element is not None else default


@dataclass(frozen=True, slots=True)
class _Style:
    name: str
    num_id: str = ""
    level: int = 0
    outline: int | None = None


class _Reader:
    def __init__(self, package: Package, limits: Limits) -> None:
        self._package = package
        self._limits = limits
        self._styles = self._read_styles()
        self._formats = self._read_numbering()
        rels = package.rels(MAIN)
        self._links = {rid: target for rid, (kind, target) in rels.items() if kind == "hyperlink"}
        self.chars = 0

    def _read_styles(self) -> dict[str, _Style]:
        if not self._package.has("word/styles.xml"):
            return {}
        styles = {}
        for style in self._package.root("word/styles.xml").iter(_w("style")):
            ppr = style.find(_w("pPr"))
            num = ppr.find(_w("numPr")) if ppr is not None else None
            outline = ppr.find(_w("outlineLvl")) if ppr is not None else None
            styles[style.get(_w("styleId"), "")] = _Style(
                name=_val(style.find(_w("name"))).casefold(),
                num_id=_val(num.find(_w("numId"))) if num is not None else "",
                level=digits_or_none(_val(num.find(_w("ilvl")), "0")) or 0 if num is not None else 0,
                outline=digits_or_none(_val(outline)) if outline is not None else None,
            )
        return styles

    def _read_numbering(self) -> dict[tuple[str, int], str]:
        """(numId, level) -> number format (``bullet``, ``decimal``, ...)."""
        if not self._package.has("word/numbering.xml"):
            return {}
        root = self._package.root("word/numbering.xml")
        abstract: dict[str, dict[int, str]] = {}
        for definition in root.iter(_w("abstractNum")):
            levels = {}
            for lvl in definition.iter(_w("lvl")):
                ilvl = lvl.get(_w("ilvl"), "0")
                levels[digits_or_none(ilvl) or 0] = _val(lvl.find(_w("numFmt")), "decimal")
            abstract[definition.get(_w("abstractNumId"), "")] = levels
        formats = {}
        for num in root.iter(_w("num")):
            levels = abstract.get(_val(num.find(_w("abstractNumId"))), {})
            for level, fmt in levels.items():
                formats[(num.get(_w("numId"), ""), level)] = fmt
        return formats

    # --- paragraphs ---------------------------------------------------------------------------

    def inline(self, paragraph: ET.Element) -> str:
        """The paragraph's runs as inline HTML: text, tabs, breaks, bold/italic, hyperlinks."""
        out: list[str] = []
        for child in paragraph:
            if child.tag == _w("r"):
                out.append(self._run(child))
            elif child.tag == _w("hyperlink"):
                inner = "".join(self._run(r) for r in child.iter(_w("r")))
                target = self._links.get(child.get(q(R, "id"), ""), "")
                out.append(f'<a href="{html_text(target)}">{inner}</a>' if target.startswith("http") else inner)
            elif child.tag in (_w("ins"), _w("smartTag"), _w("fldSimple"), _w("sdt")):
                out.extend(self._run(r) for r in child.iter(_w("r")))
        return "".join(out)

    def _run(self, run: ET.Element) -> str:
        pieces = []
        for child in run:
            if child.tag == _w("t"):
                pieces.append(html_text(child.text or ""))
            elif child.tag == _w("tab"):
                pieces.append(" ")
            elif child.tag in (_w("br"), _w("cr")):
                pieces.append("<br>")
        text = "".join(pieces)
        rpr = run.find(_w("rPr"))
        if text.strip() and rpr is not None:
            if _on(rpr.find(_w("b"))):
                text = f"<strong>{text}</strong>"
            if _on(rpr.find(_w("i"))):
                text = f"<em>{text}</em>"
        self.chars += len(text)
        return text

    def kind(self, paragraph: ET.Element) -> tuple[str, int, str]:
        """("h", level) for a heading, ("ul"/"ol", level) for a list item, ("p", 0) otherwise; and the style."""
        ppr = paragraph.find(_w("pPr"))
        style = self._styles.get(_val(ppr.find(_w("pStyle"))) if ppr is not None else "", _Style(""))
        heading = _HEADING.fullmatch(style.name)
        if heading:
            return "h", min(6, max(1, int(heading.group(1)))), style.name
        if style.name == "title":
            return "h", 1, style.name
        outline = ppr.find(_w("outlineLvl")) if ppr is not None else None
        level = digits_or_none(_val(outline)) if outline is not None else None
        level = style.outline if level is None else level
        if level is not None and level < 9:
            return "h", min(6, level + 1), style.name
        num = ppr.find(_w("numPr")) if ppr is not None else None
        num_id = _val(num.find(_w("numId"))) if num is not None else style.num_id
        ilvl_text = _val(num.find(_w("ilvl"))) if num is not None else ""
        ilvl = digits_or_none(ilvl_text)
        ilvl = style.level if ilvl is None else ilvl
        if num_id and num_id != "0":
            fmt = self._formats.get((num_id, ilvl), "bullet" if "bullet" in style.name else "decimal")
            return ("ul" if fmt in ("bullet", "none") else "ol"), min(ilvl, 8), style.name
        return "p", 0, style.name

    # --- tables -------------------------------------------------------------------------------

    def table(self, table: ET.Element) -> str:
        """A Word table as HTML: ``gridSpan`` becomes colspan, ``vMerge`` runs become rowspan."""
        grid: list[list[GridCell]] = []
        open_merges: dict[int, GridCell] = {}
        for tr in table.findall(_w("tr")):
            row: list[GridCell] = []
            column = 0
            for tc in tr.findall(_w("tc")):
                tcpr = tc.find(_w("tcPr"))
                span = digits_or_none(_val(tcpr.find(_w("gridSpan")), "1")) or 1 if tcpr is not None else 1
                merge = tcpr.find(_w("vMerge")) if tcpr is not None else None
                text = "\n".join(self._cell_text(p) for p in tc.iter(_w("p")))
                if merge is not None and _val(merge) != "restart" and column in open_merges:
                    open_merges[column].rowspan += 1
                else:
                    cell = GridCell(text, colspan=max(1, min(span, 50)))
                    row.append(cell)
                    if merge is not None:
                        open_merges[column] = cell
                    else:
                        open_merges.pop(column, None)
                column += max(1, span)
            grid.append(row)
        return html_table(grid, header=True)

    def _cell_text(self, paragraph: ET.Element) -> str:
        return "".join(
            (t.text or "") if t.tag == _w("t") else " " for t in paragraph.iter() if t.tag in (_w("t"), _w("tab"))
        )


def _flatten(block: ET.Element) -> list[ET.Element]:
    """Paragraphs and tables of a body block; a content control (``sdt``) gives those inside it."""
    if block.tag != _w("sdt"):
        return [block]
    content = block.find(_w("sdtContent"))
    return [inner for child in (content if content is not None else ()) for inner in _flatten(child)]


def _on(flag: ET.Element | None) -> bool:
    return flag is not None and _val(flag, "true").lower() not in ("0", "false", "off")


def read(data: bytes, limits: Limits, stop: Stop) -> Document:
    """The document body as one Markdown part; ExtractionError when malformed or over a limit."""
    from labmcp.notebook.markdown import html_to_markdown  # noqa: PLC0415  # lazily: only DOCX/PPTX need it

    package = Package(data, "DOCX", limits, stop)
    reader = _Reader(package, limits)
    html: list[str] = []
    lists: list[tuple[str, int]] = []
    notes: list[str] = []

    def close_lists(to_level: int) -> None:
        while lists and lists[-1][1] >= to_level:
            html.append(f"</li></{lists.pop()[0]}>")

    blocks = 0
    for block in package.elements(MAIN, lambda tag, depth: depth == 2 and tag in (_w("p"), _w("tbl"), _w("sdt"))):
        for element in _flatten(block):
            blocks += 1
            if element.tag == _w("tbl"):
                close_lists(0)
                html.append(reader.table(element))
                reader.chars += len(html[-1])
                continue
            kind, level, _style = reader.kind(element)
            inner = reader.inline(element)
            if kind in ("ul", "ol"):
                if lists and lists[-1][1] == level and lists[-1][0] != kind:
                    close_lists(level)
                close_lists(level + 1)
                if lists and lists[-1][1] == level:
                    html.append(f"</li><li>{inner}")
                else:
                    html.append(f"<{kind}><li>{inner}")
                    lists.append((kind, level))
                continue
            close_lists(0)
            if not inner.strip():
                continue
            html.append(f"<h{level}>{inner}</h{level}>" if kind == "h" else f"<p>{inner}</p>")
        if reader.chars > limits.max_text_chars:
            notes.append(f"The document was cut after {limits.max_text_chars} characters (the extraction limit).")
            break
    close_lists(0)
    if not blocks and not package.has(MAIN):
        raise ExtractionError("the DOCX file has no document body")
    markdown = html_to_markdown("".join(html))
    return Document(
        kind="docx",
        unit="section",
        parts=(Part("", markdown),),
        summary=(f"Word document: {blocks} paragraph(s) and table(s).",),
        notes=tuple(notes),
        facts={"blocks": blocks},
    )
