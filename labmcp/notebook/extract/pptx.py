"""PowerPoint decks (PPTX, ECMA-376 PresentationML) as Markdown: one part per slide.

A slide's part is titled with its number and title (the ``title``/``ctrTitle`` placeholder); its
body holds the text of the other shapes in reading order (paragraph levels as nested lists), tables
through the shared HTML table layout, and the speaker notes (the notes slide's body placeholder).
"""

from __future__ import annotations

from typing import Final
from xml.etree import ElementTree as ET  # elements only; parsing is ooxml's guarded expat

from labmcp.digits import digits_or_none, is_digits
from labmcp.errors import ExtractionError
from labmcp.notebook.extract import Document, Limits, Part, Stop
from labmcp.notebook.extract.markup import GridCell, html_table, html_text
from labmcp.notebook.extract.ooxml import REL_NS, Package, q

P: Final = "http://schemas.openxmlformats.org/presentationml/2006/main"
A: Final = "http://schemas.openxmlformats.org/drawingml/2006/main"
MAIN: Final = "ppt/presentation.xml"
_TITLES: Final = frozenset({"title", "ctrTitle"})
_SKIPPED: Final = frozenset({"sldNum", "dt", "ftr", "sldImg", "hdr"})


def _p(local: str) -> str:
    return q(P, local)


def _a(local: str) -> str:
    return q(A, local)


def _placeholder(shape: ET.Element) -> str | None:
    """The placeholder type of a shape (``body`` when a placeholder has no type), or None."""
    for nv in shape:
        nvpr = nv.find(_p("nvPr"))
        if nvpr is not None:
            ph = nvpr.find(_p("ph"))
            return None if ph is None else ph.get("type", "body")
    return None


def _paragraphs(body: ET.Element) -> list[tuple[int, str]]:
    """(level, text) of each non-empty paragraph of a text body; ``a:br`` is a line break."""
    out = []
    for para in body.findall(_a("p")):
        pieces = []
        for child in para:
            if child.tag in (_a("r"), _a("fld")):
                pieces.append("".join(t.text or "" for t in child.findall(_a("t"))))
            elif child.tag == _a("br"):
                pieces.append("\n")
        text = "".join(pieces)
        ppr = para.find(_a("pPr"))
        level = ppr.get("lvl", "0") if ppr is not None else "0"
        if text.strip():
            out.append((min(int(level), 8) if is_digits(level) else 0, text))
    return out


def _text_html(paragraphs: list[tuple[int, str]]) -> str:
    """A shape's paragraphs: one paragraph alone as ``<p>``, several as a (nested) bulleted list."""
    if len(paragraphs) == 1:
        return f"<p>{html_text(paragraphs[0][1])}</p>"
    out, depth = [], -1
    for wanted, text in paragraphs:
        level = min(wanted, depth + 1)
        while depth > level:
            out.append("</li></ul>")
            depth -= 1
        if depth == level:
            out.append(f"</li><li>{html_text(text)}")
        else:
            out.append(f"<ul><li>{html_text(text)}")
            depth = level
    out.append("</li></ul>" * (depth + 1))
    return "".join(out)


def _table(frame: ET.Element) -> str:
    rows = []
    for tr in frame.iter(_a("tr")):
        row = []
        for tc in tr.findall(_a("tc")):
            if tc.get("hMerge") == "1" or tc.get("vMerge") == "1":
                continue
            body = tc.find(_a("txBody"))
            text = "\n".join(t for _, t in _paragraphs(body)) if body is not None else ""
            row.append(
                GridCell(
                    text,
                    colspan=digits_or_none(tc.get("gridSpan", "1")) or 1,
                    rowspan=digits_or_none(tc.get("rowSpan", "1")) or 1,
                )
            )
        rows.append(row)
    return html_table(rows, header=True)


def _shapes(tree: ET.Element) -> list[ET.Element]:
    """Shapes and graphic frames in reading (document) order, groups opened."""
    out = []
    for child in tree:
        if child.tag == _p("grpSp"):
            out.extend(_shapes(child))
        elif child.tag in (_p("sp"), _p("graphicFrame")):
            out.append(child)
    return out


def _slide(package: Package, path: str) -> tuple[str, str, str]:
    """(title, body HTML, notes text) of one slide."""
    root = package.root(path)
    tree = root.find(f"{_p('cSld')}/{_p('spTree')}")
    title, html = "", []
    for shape in _shapes(tree) if tree is not None else []:
        if shape.tag == _p("graphicFrame"):
            if shape.find(f".//{_a('tbl')}") is not None:
                html.append(_table(shape))
            continue
        kind = _placeholder(shape)
        body = shape.find(_p("txBody"))
        paragraphs = _paragraphs(body) if body is not None else []
        if kind in _SKIPPED or not paragraphs:
            continue
        if kind in _TITLES and not title:
            title = " ".join(" ".join(t.split()) for _, t in paragraphs)
            continue
        html.append(_text_html(paragraphs))
    notes = ""
    for kind, target in package.rels(path).values():
        if kind == "notesSlide" and package.has(target):
            notes_tree = package.root(target).find(f"{_p('cSld')}/{_p('spTree')}")
            notes = "\n".join(
                text
                for shape in (_shapes(notes_tree) if notes_tree is not None else [])
                if _placeholder(shape) == "body" and shape.find(_p("txBody")) is not None
                for _, text in _paragraphs(shape.find(_p("txBody")))  # type: ignore[arg-type]
            )
    return title, "".join(html), notes


def read(data: bytes, limits: Limits, stop: Stop) -> Document:
    """Every slide as a part with its title, text, tables and speaker notes."""
    from labmcp.notebook.markdown import html_to_markdown  # noqa: PLC0415  # lazily: only DOCX/PPTX need it

    package = Package(data, "PPTX", limits, stop)
    rels = package.rels(MAIN)
    root = package.root(MAIN)
    slide_ids = root.find(_p("sldIdLst"))
    paths = [
        rels[ref][1]
        for s in (slide_ids.findall(_p("sldId")) if slide_ids is not None else [])
        if (ref := s.get(q(REL_NS, "id"), "")) in rels and rels[ref][0] == "slide"
    ]
    if len(paths) > limits.max_slides:
        raise ExtractionError(f"the PPTX file has {len(paths)} slides, over the limit of {limits.max_slides}")
    parts, chars, notes_count, titles = [], 0, 0, []
    for n, path in enumerate(paths, 1):
        stop()
        title, html, notes = _slide(package, path)
        if notes:
            notes_count += 1
            html += f"<p><strong>Speaker notes:</strong></p><blockquote><p>{html_text(notes)}</p></blockquote>"
        body = html_to_markdown(html) if html else "(no text on this slide)"
        parts.append(Part(f"Slide {n}" + (f": {' '.join(title.split())}" if title else ""), body))
        titles.append(title)
        chars += len(body)
        if chars > limits.max_text_chars:
            break
    cut = len(parts) < len(paths)
    return Document(
        kind="pptx",
        unit="slide",
        parts=tuple(parts),
        summary=(f"PowerPoint deck, {len(paths)} slide(s), {notes_count} with speaker notes.",),
        notes=(f"Slides after {len(parts)} were left out (the extraction limit of characters).",) if cut else (),
        facts={"slides": len(paths), "titles": titles},
    )
