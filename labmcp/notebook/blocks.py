"""Pieces of Markdown shared by the converters: fenced code, sizes, ``data:`` placeholders, and the
block containers the HTML converter fills (a finished block, a container of blocks, joining and
indenting them)."""

from __future__ import annotations

import re
from typing import NamedTuple

from labmcp.notebook.htmlscan import int_attr
from labmcp.notebook.inline import Token
from labmcp.notebook.tables import Cell, TableBuilder

DATA_URI = re.compile(r"data:([\w.+/-]*)(?:;[\w=.+-]+)*;base64,[A-Za-z0-9+/=\s]{40,}", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
_INFO = re.compile(r"[^\w+.#-]")
_MEDIA_TYPE = re.compile(r"[\w.+/-]{1,64}")


def format_size(n: int) -> str:
    """A byte count the way people read it: ``512 B``, ``5.5 KB``, ``1.2 MB`` (1024 base)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1023.95 or unit == "TB":
            break
    return f"{value:.1f} {unit}"


def replace_data_uris(text: str) -> str:
    """Text with every base64 ``data:`` URI in it replaced by a short placeholder (§8.9)."""
    return DATA_URI.sub(lambda m: f"[inline data: {data_uri_label(m.group(0))}]", text)


def fenced(text: str, info: str = "") -> str:
    """A fenced code block showing ``text`` byte for byte: the fence is longer than any backtick run
    inside, the info string keeps only word characters (a file name cannot break the fence). Line
    ends are written as LF (Markdown reads CR and CRLF as LF anyway)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{_INFO.sub('', info)[:32]}\n{body}{fence}"


def data_uri_label(uri: str) -> str:
    """``image/png, 12.3 KB`` for a ``data:`` URI, estimated from its length (base64 is 4 chars per 3 bytes)."""
    header, _, payload = uri[5:].partition(",")
    media = header.split(";")[0].strip()
    media = media if _MEDIA_TYPE.fullmatch(media) else "unknown type"
    payload = payload.strip()
    size = len(payload) * 3 // 4 - payload[-2:].count("=") if ";base64" in header.lower() else len(payload)
    return f"{media}, {format_size(max(size, 0))}"


class Block(NamedTuple):
    """A finished block of Markdown."""

    text: str
    tight: bool = False  # a list that may follow a list item's text without a blank line


def join_blocks(blocks: list[Block], *, in_item: bool = False) -> str:
    if len(blocks) == 1:  # the common case, without the list
        return blocks[0].text
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("\n" if in_item and block.tight else "\n\n")
        out.append(block.text)
    return "".join(out)


def indent(text: str, first: str, rest: str) -> str:
    """``text`` under a list marker; empty lines stay empty (whitespace-only code lines are kept)."""
    if "\n" not in text:  # the common case: one line
        return first + text
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [rest + line if line else "" for line in lines[1:]])


class Box:
    """A block container collecting finished blocks: root, quote, list, item, table, caption or cell.

    Fields other than ``kind`` and ``blocks`` are class defaults, set only on the kinds that use them.
    """

    marker: str | None = None  # items: "- ", "3. ", or None for content directly inside a list
    ordered = False  # lists
    number = 1
    width = 2
    items: list[str]
    table: TableBuilder | None = None  # tables
    row: list[Cell] | None = None
    head = False
    cells = 0
    first_cell: list[Block] | None = None
    later: list[str]  # nested tables and code blocks, shown after the table
    header = False  # cells
    colspan = 1
    rowspan = 1

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.blocks: list[Block] = []


_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
SPECIAL_BLOCKS = _HEADINGS | frozenset(
    ["ul", "ol", "li", "blockquote", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption"]
)
"""Block tags that open or close a container (or a heading); other block tags only end a paragraph."""


class Containers:
    """The block half of the HTML converter: a stack of containers (root, quotes, lists, items,
    tables, captions, cells), started and ended by block tags, that collect finished blocks.

    The converter supplies ``_flush`` (the paragraph read so far into the current container) and
    ``_atom`` (opaque Markdown into the current paragraph).
    """

    _boxes: list[Box]
    _heading: int
    _tokens: list[Token]  # the paragraph being read

    def _flush(self) -> None:
        raise NotImplementedError

    def _atom(self, markdown: str) -> None:
        raise NotImplementedError

    def _in(self, kind: str) -> bool:
        return any(box.kind == kind for box in self._boxes)

    def _add(self, block: Block, later: str = "") -> None:
        """Add a finished block to the current container; a table or code block inside a table cell
        goes after the outermost table instead, referenced from the cell."""
        box = self._boxes[-1]
        if later and self._in("cell"):
            outer = next(b for b in self._boxes if b.kind == "table")
            outer.later.append(f"{later.capitalize()} {len(outer.later) + 1} (from a cell above):\n\n{block.text}")
            self._atom(f"→ {later} {len(outer.later)} below the table")
            self._flush()
            return
        if box.kind == "list":  # content directly inside a list continues the previous item
            self._push(Box("item"))
            box = self._boxes[-1]
        box.blocks.append(block)  # in a table outside cells: shown before the table, as browsers do

    def _push(self, box: Box) -> None:
        self._boxes.append(box)

    def _block_start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._tokens:  # (``_flush`` does nothing without them; the call is skipped on the hot path)
            self._flush()
        if tag not in SPECIAL_BLOCKS:
            return
        if tag in ("td", "th", "caption") and self._boxes[-1].kind == "table":
            table = self._boxes[-1]
            if tag == "caption":
                self._push(Box("caption"))
                return
            if table.row is None:
                table.row = []
            cell = Box("cell")
            cell.header = tag == "th"
            if attrs:  # (class defaults otherwise: no span)
                rowspan = int_attr(attrs, "rowspan")
                cell.colspan = int_attr(attrs, "colspan") or 1
                cell.rowspan = 1 if rowspan is None else rowspan
            self._boxes.append(cell)
        elif tag == "tr" and self._boxes[-1].kind == "table":
            self._end_row()
            self._boxes[-1].row = []
        elif tag in _HEADINGS:
            self._heading = int(tag[1])
        elif tag in ("ul", "ol"):
            self._end_implicit_item()
            if self._boxes[-1].kind == "list":
                self._push(Box("item"))
            start = int_attr(attrs, "start")
            lst = Box("list")
            lst.ordered, lst.number, lst.items = tag == "ol", 1 if start is None else start, []
            self._push(lst)
        elif tag == "li" and self._boxes[-1].kind in ("list", "item"):
            self._end_implicit_item()
            lst = self._boxes[-1]
            if lst.kind == "list":
                value = int_attr(attrs, "value")
                lst.number = lst.number if value is None else value
                marker = f"{lst.number}. " if lst.ordered else "- "
                lst.number += 1
                item = Box("item")
                item.marker = marker
                self._push(item)
        elif tag == "blockquote":
            self._push(Box("quote"))
        elif tag == "table":
            table = Box("table")
            table.table, table.later = TableBuilder(), []
            self._push(table)
        elif tag in ("thead", "tbody", "tfoot") and self._boxes[-1].kind == "table":
            self._boxes[-1].head = tag == "thead"

    def _end_implicit_item(self) -> None:
        if self._boxes[-1].kind == "item" and self._boxes[-1].marker is None:
            self._finish_item()

    def _block_end(self, tag: str) -> None:
        if self._tokens:
            self._flush()
        if tag not in SPECIAL_BLOCKS:
            return
        box = self._boxes[-1]
        if tag in ("td", "th") and box.kind == "cell":
            self._boxes.pop()
            table = self._boxes[-1]
            table.cells += 1
            if table.cells == 1:
                table.first_cell = box.blocks
            blocks = box.blocks
            text = blocks[0].text if len(blocks) == 1 else "\n".join([b.text for b in blocks])
            if table.row is not None:
                table.row.append(Cell(text, box.colspan, box.rowspan, header=box.header))
        elif tag in _HEADINGS:
            self._heading = 0
        elif tag == "li" and box.kind == "item" and box.marker is not None:
            self._finish_item()
        elif tag in ("ul", "ol"):
            self._end_implicit_item()
            if self._boxes[-1].kind == "item" and self._boxes[-1].marker is not None:
                self._finish_item()  # an unclosed <li> ends with its list
            if self._boxes[-1].kind == "list":
                lst = self._boxes.pop()
                text = "\n".join(lst.items)
                if text:
                    # only bullets and lists starting at 1 may interrupt a paragraph (CommonMark 5.3)
                    self._add(Block(text, not lst.ordered or text.startswith("1.")))
            self._end_implicit_item()
        elif tag == "blockquote" and box.kind == "quote":
            self._boxes.pop()
            inner = join_blocks(box.blocks)
            if inner:
                self._add(Block("\n".join("> " + line if line else ">" for line in inner.split("\n"))))
        elif tag == "caption" and box.kind == "caption":
            self._boxes.pop()
            self._boxes[-1].blocks.extend(box.blocks)
        elif tag == "tr" and box.kind == "table":
            self._end_row()
        elif tag in ("thead", "tbody", "tfoot") and box.kind == "table":
            self._end_row()
            if box.table is not None:
                box.table.end_group()
            box.head = False
        elif tag == "table" and box.kind == "table":
            self._end_row()
            self._boxes.pop()
            self._finish_table(box)

    def _end_row(self) -> None:
        table = self._boxes[-1]
        if table.row is not None and table.table is not None:
            table.table.row(table.row, head=table.head)
        table.row = None

    def _finish_item(self) -> None:
        item = self._boxes.pop()
        lst = self._boxes[-1]
        body = join_blocks(item.blocks, in_item=True)
        if not body:
            return
        if item.marker is None:
            if lst.items:
                lst.items[-1] += "\n" + indent(body, " " * lst.width, " " * lst.width)
            else:
                lst.items.append(body)
            return
        lst.width = len(item.marker)
        lst.items.append(indent(body, item.marker, " " * lst.width))

    def _finish_table(self, box: Box) -> None:
        if box.cells == 1 and box.first_cell is not None:  # a one-cell layout table is a box around its content
            for block in [*box.blocks, *box.first_cell]:
                self._add(block)
            return
        for block in box.blocks:
            self._add(block)
        text = box.table.markdown() if box.table is not None else ""
        if text:
            self._add(Block(text), later="table")
        for later in box.later:
            self._add(Block(later))
