"""An independent judge of our Markdown: real CommonMark + GFM parsers, read back with ``html.parser``.

markdown-it-py (CommonMark with the GFM table extension) and cmarkgfm (GitHub's own cmark) turn our
Markdown into HTML; the standard library's ``html.parser`` reads that HTML (and the input HTML) into
plain facts: the text, the code blocks, the tables as header and rows. Nothing here imports labmcp.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options
from hypothesis import strategies as st
from markdown_it import MarkdownIt

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "li",
        "ul",
        "ol",
        "table",
        "tr",
        "td",
        "th",
        "pre",
        "blockquote",
        "hr",
        "br",
        "thead",
        "tbody",
    ]
)


def to_html(markdown: str) -> list[str]:
    """The HTML both parsers make of ``markdown``: markdown-it-py's, then cmarkgfm's."""
    gfm = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return [_MD.render(markdown), gfm]


@dataclass
class Table:
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Facts:
    """What a reader sees in an HTML document."""

    text: str = ""  # all text, with whitespace runs collapsed, blocks separated by one space
    code_blocks: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    emphasis: list[str] = field(default_factory=list)  # text of each <em>/<strong>/<b>/<i>


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = Facts()
        self._text: list[str] = []
        self._pre: list[str] | None = None
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = False
        self._emph: list[list[str]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "pre":
            self._pre = []
        elif tag == "table":
            self.facts.tables.append(Table())
        elif tag == "thead":
            self._in_head = True
        elif tag == "tbody":
            self._in_head = False
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("em", "strong", "b", "i"):
            self._emph.append([])
        if tag in _BLOCKS:
            self._text.append(" ")
            if self._cell is not None and tag == "br":
                self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "pre" and self._pre is not None:
            self.facts.code_blocks.append("".join(self._pre))
            self._pre = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.facts.tables:
            table = self.facts.tables[-1]
            if self._in_head:
                table.header = self._row
            else:
                table.rows.append(self._row)
            self._row = None
        elif tag in ("em", "strong", "b", "i") and self._emph:
            self.facts.emphasis.append(" ".join("".join(self._emph.pop()).split()))
        if tag in _BLOCKS:
            self._text.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        for part in (self._text, self._pre, self._cell, *self._emph):
            if part is not None:
                part.append(data)


def read(html: str) -> Facts:
    """The facts of an HTML document, as ``html.parser`` reads it."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    reader.facts.text = " ".join("".join(reader._text).split())
    return reader.facts


def read_markdown(markdown: str) -> list[Facts]:
    """The facts of ``markdown`` as each independent parser reads it."""
    return [read(html) for html in to_html(markdown)]


def literal_emphasis(facts: Facts) -> list[str]:
    """Runs of ``**`` / ``__`` / a lone ``*`` hugging a word that a parser left as literal text."""
    return re.findall(r"\*\*|__|(?<![\w*])\*(?=\w)|(?<=\w)\*(?![\w*])", facts.text)


@dataclass(frozen=True)
class Placed:
    """A cell of a generated table: its value, top-left (row, column) and spans."""

    value: str
    row: int
    column: int
    wide: int
    tall: int


@st.composite
def span_layouts(draw: st.DrawFn) -> tuple[int, list[list[Placed]]]:
    """A grid of non-overlapping rectangles, as rows of cells in document order (a cell is written
    in the row where it starts): the width and the data rows. Values are ``v<row>x<column>``."""
    width = draw(st.integers(1, 5))
    height = draw(st.integers(1, 5))
    taken: set[tuple[int, int]] = set()
    rows: list[list[Placed]] = []
    for r in range(height):
        row: list[Placed] = []
        for c in range(width):
            if (r, c) in taken:
                continue
            wide = draw(st.integers(1, width - c))
            tall = draw(st.integers(1, height - r))
            if any((r + dr, c + dc) in taken for dr in range(tall) for dc in range(wide)):
                wide, tall = 1, 1
            taken |= {(r + dr, c + dc) for dr in range(tall) for dc in range(wide)}
            row.append(Placed(f"v{r}x{c}", r, c, wide, tall))
        rows.append(row)
    return width, rows
