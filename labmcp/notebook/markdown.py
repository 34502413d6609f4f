"""Rich-text LabArchives entries (HTML fragments, §7.2) as Markdown, in one streaming pass.

``htmlscan`` tokenises (reading HTML as ``html.parser`` does, faster); the converter below turns its
events straight into Markdown without building a tree: an element stack (for a browser's implied
closes: ``<p>`` ends at a block, ``<li>`` at the next ``<li>``, cells at the next cell), a stack of
block containers (the root, quotes, lists, list items, tables, cells) that collect finished blocks
as strings, and the inline tokens of the paragraph being read (``inline.py`` renders them). Memory
is the input, the output and one paragraph's tokens; tables keep one string per row
(``tables.TableBuilder``).

What comes out: headings, paragraphs, hard breaks, emphasis where CommonMark parses it, inline code,
``<pre>`` byte for byte in a fence longer than any backtick run inside, http/https/mailto links
only, images (``data:`` ones as a short placeholder, never base64, §8.9), nested lists, blockquotes,
rules, tables laid out like a browser (nested tables and code blocks in cells follow the table,
referenced from their cell). Never raises: whatever the input, some Markdown comes out.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Set as AbstractSet
from typing import Final, NamedTuple

from labmcp.notebook import htmlscan, inline
from labmcp.notebook.escape import clean, escape_run, safe_url
from labmcp.notebook.tables import Cell, TableBuilder

MAX_DEPTH: Final = 100


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


_VOID = _tags("area base br col embed hr img input link meta param source track wbr")
_DROP = _tags("script style head title template noscript xml select")
_HEAD_OK = _tags("meta link style script title base noscript template xml")
_HEADINGS = _tags("h1 h2 h3 h4 h5 h6")
_BLOCK = _HEADINGS | _tags(
    "address article aside blockquote body caption center dd details dialog div dl dt fieldset figcaption figure "
    "footer form header hgroup hr html li main nav ol p pre section summary table tbody td tfoot th thead tr ul"
)
_CLOSES_P = _BLOCK - _tags("li dd dt td th tr tbody thead tfoot caption body html")
_CELL_SCOPE = _tags("td th table caption")
_TABLE_PARTS = _tags("td th tr table tbody thead tfoot")
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*", "s": "~~", "strike": "~~", "del": "~~"}
_CODE = _tags("code kbd samp tt")
_P_BOUNDS = _CELL_SCOPE | {"button"}
_LI_BOUNDS = _CELL_SCOPE | {"ul", "ol"}
_DL_BOUNDS = _CELL_SCOPE | {"dl"}
_GROUP_CLOSES = _tags("thead tbody tfoot tr td th")
_NONE: frozenset[str] = frozenset()

# Marked sections (Word's <![if ...]>) and processing instructions are removed before parsing, since
# html.parser rescans to the end for each one it cannot close and raises on some; comments are matched
# only to be skipped (what is inside them is left alone). Every alternative matches once started: linear.
_UNPARSED = re.compile(r"<!--.*?--\s*>|<(?:!\[|\?)[^>]*(?:>|\Z)", re.DOTALL)
_COMMENT_CLOSE = re.compile(r"--\s*>")  # html.parser's own end-of-comment pattern
_DATA_TEXT = re.compile(r"data:([\w.+/-]*)(?:;[\w=.+-]+)*;base64,[A-Za-z0-9+/=\s]{40,}", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\f]+")
_BACKTICKS = re.compile(r"`+")
_LANG = re.compile(r"(?:^|\s)(?:language|lang)-([\w+-]{1,32})")
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
    return _DATA_TEXT.sub(lambda m: f"[inline data: {_data_uri_label(m.group(0))}]", text)


def fenced(text: str, info: str = "") -> str:
    """A fenced code block showing ``text`` byte for byte: the fence is longer than any backtick run
    inside, the info string keeps only word characters (a file name cannot break the fence). Line
    ends are written as LF (Markdown reads CR and CRLF as LF anyway)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{_INFO.sub('', info)[:32]}\n{body}{fence}"


def _data_uri_label(uri: str) -> str:
    """``image/png, 12.3 KB`` for a ``data:`` URI, estimated from its length (base64 is 4 chars per 3 bytes)."""
    header, _, payload = uri[5:].partition(",")
    media = header.split(";")[0].strip()
    media = media if _MEDIA_TYPE.fullmatch(media) else "unknown type"
    payload = payload.strip()
    size = len(payload) * 3 // 4 - payload[-2:].count("=") if ";base64" in header.lower() else len(payload)
    return f"{media}, {format_size(max(size, 0))}"


class _Block(NamedTuple):
    text: str
    tight: bool = False  # a list that may follow a list item's text without a blank line


def _join(blocks: list[_Block], *, in_item: bool = False) -> str:
    out: list[str] = []
    for block in blocks:
        if out:
            out.append("\n" if in_item and block.tight else "\n\n")
        out.append(block.text)
    return "".join(out)


def _indent(text: str, first: str, rest: str) -> str:
    """``text`` under a list marker; empty lines stay empty (whitespace-only code lines are kept)."""
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [rest + line if line else "" for line in lines[1:]])


def _int_attr(attrs: list[tuple[str, str | None]], name: str) -> int | None:
    if not attrs:
        return None
    value = _attr(attrs, name).strip()
    return min(int(value), 999_999_999) if value.isdigit() and len(value) < 12 else None


class _Box:
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
    first_cell: list[_Block] | None = None
    later: list[str]  # nested tables and code blocks, shown after the table
    header = False  # cells
    colspan = 1
    rowspan = 1

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.blocks: list[_Block] = []


_IMPLIED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "li": (frozenset({"li"}), _LI_BOUNDS),
    "dt": (frozenset({"dt", "dd"}), _DL_BOUNDS),
    "dd": (frozenset({"dt", "dd"}), _DL_BOUNDS),
    "thead": (_GROUP_CLOSES, frozenset({"table"})),
    "tbody": (_GROUP_CLOSES, frozenset({"table"})),
    "tfoot": (_GROUP_CLOSES, frozenset({"table"})),
    "tr": (frozenset({"tr"}), frozenset({"table"})),
    "td": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "th": (frozenset({"td", "th"}), frozenset({"tr", "table"})),
    "a": (frozenset({"a"}), _CELL_SCOPE),
}
_INLINE = {**_EMPHASIS, "a": "a", "sup": "^"}
_KNOWN = _BLOCK | _DROP | _CODE | frozenset(_INLINE) | {"br", "img", "hr"}
_SPECIAL_BLOCKS = _HEADINGS | _tags("ul ol li blockquote table thead tbody tfoot tr td th caption")
_WANTED = _tags("a img ol li td th pre code")  # the tags whose attributes we read
_END_BOUNDS = {tag: _NONE for tag in _TABLE_PARTS} | {"li": _LI_BOUNDS}


class _Converter:
    """Tokeniser events straight to Markdown blocks (see the module docstring)."""

    def __init__(self) -> None:
        self.root = _Box("root")
        self._boxes = [self.root]
        self._stack: list[str] = []  # open elements we act on (others only carry text)
        self._skipped: dict[str, int] = {}
        self._head_open = False
        self._drop = 0
        self._tokens: list[inline.Token] = []
        self._plain = True  # the tokens are all text
        self._content = False  # the tokens hold something visible
        self._open_inline: list[tuple[int, str, str]] = []  # inline elements open now, reopened after a block
        self._heading = 0
        self._raw: list[str] | None = None  # the text of <pre> or inline code being read
        self._raw_tag = ""
        self._pre_lang = ""

    # --- events ---------------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._head_open and (tag in ("html", "body") or (tag not in _HEAD_OK and ":" not in tag)):
            self._close({"head"})
            self._head_open = False
        if tag not in _KNOWN or tag in ("html", "body"):
            return
        if self._raw is not None:
            if tag == "br":
                self._raw.append("\n" if self._raw_tag == "pre" else " ")
            elif tag == "code" and self._raw_tag == "pre" and not self._pre_lang:
                self._pre_lang = _language(attrs)
            return
        stack = self._stack
        if tag in _CLOSES_P and "p" in stack:
            self._close({"p"}, _P_BOUNDS)
        implied = _IMPLIED.get(tag)
        if implied is not None:
            self._close(*implied)
        elif tag in _HEADINGS and stack and stack[-1] in _HEADINGS:
            self._end(stack.pop())
        if tag in _VOID:
            self._void(tag, attrs)
        elif len(stack) >= MAX_DEPTH:
            self._skipped[tag] = self._skipped.get(tag, 0) + 1
        else:
            stack.append(tag)
            self._start(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag not in _KNOWN:
            return
        if self._skipped.get(tag):
            self._skipped[tag] -= 1
        elif tag == "br":  # browsers read a stray </br> as <br>
            self.handle_starttag("br", [])
        elif tag in _VOID or (self._raw is not None and tag != self._raw_tag):
            return
        elif self._stack and self._stack[-1] == tag:
            self._end(self._stack.pop())
        elif tag in self._stack:
            self._close({tag}, _END_BOUNDS.get(tag, _CELL_SCOPE))

    def handle_data(self, data: str) -> None:
        if self._drop:
            if self._stack and self._stack[-1] == "head" and data.strip():
                self._close({"head"})
                self._head_open = False
            else:
                return
        if self._raw is not None:
            self._raw.append(data)
        elif "base64," in data:
            last = 0
            for m in _DATA_TEXT.finditer(data):
                self._tokens.append(data[last : m.start()])
                self._atom(f"[inline data: {_data_uri_label(m[0])}]")
                last = m.end()
            self._tokens.append(data[last:].replace("\xa0", " "))
        else:
            self._tokens.append(data.replace("\xa0", " "))
            self._content = self._content or not data.isspace()

    # --- element stack --------------------------------------------------------------------------

    def _close(self, tags: AbstractSet[str], boundaries: AbstractSet[str] = _NONE) -> None:
        stack = self._stack
        for i in range(len(stack) - 1, -1, -1):
            tag = stack[i]
            if tag in tags:
                while len(stack) > i:
                    self._end(stack.pop())
                return
            if tag in boundaries:
                return

    def _start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP:
            self._drop += 1
            self._head_open = self._head_open or tag == "head"
        elif self._drop:
            return
        elif tag in _INLINE:
            self._inline_open(_INLINE[tag], _attr(attrs, "href") if tag == "a" else "")
        elif tag in _CODE:
            self._raw, self._raw_tag = [], tag
        elif tag == "pre":
            self._flush()
            self._raw, self._raw_tag = [], tag
            self._pre_lang = _language(attrs)
        else:
            self._block_start(tag, attrs)

    def _end(self, tag: str) -> None:
        if tag in _DROP:
            self._drop -= 1
        elif self._drop:
            return
        elif tag in _INLINE:
            self._inline_close()
        elif tag == self._raw_tag and self._raw is not None:
            if tag == "pre":
                self._code_block()
            else:
                self._code_span()
        elif tag in _BLOCK:
            self._block_end(tag)

    # --- inline ---------------------------------------------------------------------------------

    def _inline_open(self, kind: str, arg: str) -> None:
        if kind in inline.EMPHASIS and any(k == kind for _, k, _ in self._open_inline):
            self._open_inline.append((0, "", ""))  # already inside the same emphasis: no markers
            return
        token = (inline.OPEN, kind, arg)
        self._open_inline.append(token)
        self._tokens.append(token)
        self._plain = False

    def _inline_close(self) -> None:
        if not self._open_inline:
            return
        op, kind, _ = self._open_inline.pop()
        if op:
            self._tokens.append((inline.CLOSE, kind, ""))
            self._plain = False

    def _void(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._drop:
            return
        if tag == "br":
            self._tokens.append((inline.BREAK, "", ""))
            self._plain = False
        elif tag == "img":
            self._atom(_image(attrs))
        elif tag == "hr":
            self._flush()
            self._add(_Block("---"))

    def _atom(self, markdown: str) -> None:
        self._tokens.append((inline.ATOM, "", markdown))
        self._plain = False
        self._content = True

    def _code_span(self) -> None:
        raw = "".join(self._raw or ())
        self._raw = None
        text = _SPACES.sub(" ", raw)
        core = text.strip(" ")
        if text[:1] == " ":
            self._tokens.append(" ")
        if core:
            self._tokens.append((inline.ATOM, "code", core))
            self._plain = False
            self._content = True
        if text[-1:] == " " and core:
            self._tokens.append(" ")

    def _code_block(self) -> None:
        text = "".join(self._raw or ())
        self._raw = None
        text = text[1:] if text.startswith("\n") else text  # HTML drops a newline right after <pre>
        if text:
            self._add(_Block(fenced(text, self._pre_lang)), later="code block")

    # --- blocks ---------------------------------------------------------------------------------

    def _flush(self) -> None:
        """The paragraph read so far as blocks of the current container."""
        tokens, plain = self._tokens, self._plain
        if not tokens:
            return
        self._tokens = [t for t in self._open_inline if t[0]] if self._open_inline else []
        self._plain = not self._tokens
        if not self._content:
            return
        self._content = False
        paragraphs = inline.render(tokens, plain=plain)
        if not paragraphs:
            return
        if self._heading and not self._in("cell"):
            text = re.sub(r"(\s)(#+)$", r"\1\\\2", " ".join(line for lines in paragraphs for line in lines))
            self._add(_Block("#" * self._heading + " " + text))
            return
        for lines in paragraphs:
            self._add(_Block("  \n".join(lines)))

    def _in(self, kind: str) -> bool:
        return any(box.kind == kind for box in self._boxes)

    def _add(self, block: _Block, later: str = "") -> None:
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
            self._push(_Box("item"))
            box = self._boxes[-1]
        box.blocks.append(block)  # in a table outside cells: shown before the table, as browsers do

    def _push(self, box: _Box) -> None:
        self._boxes.append(box)

    def _block_start(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._flush()
        if tag not in _SPECIAL_BLOCKS:
            return
        if tag in ("td", "th", "caption") and self._boxes[-1].kind == "table":
            table = self._boxes[-1]
            if tag == "caption":
                self._push(_Box("caption"))
                return
            if table.row is None:
                table.row = []
            rowspan = _int_attr(attrs, "rowspan")
            cell = _Box("cell")
            cell.header, cell.colspan = tag == "th", _int_attr(attrs, "colspan") or 1
            cell.rowspan = 1 if rowspan is None else rowspan
            self._push(cell)
        elif tag == "tr" and self._boxes[-1].kind == "table":
            self._end_row()
            self._boxes[-1].row = []
        elif tag in _HEADINGS:
            self._heading = int(tag[1])
        elif tag in ("ul", "ol"):
            self._end_implicit_item()
            if self._boxes[-1].kind == "list":
                self._push(_Box("item"))
            start = _int_attr(attrs, "start")
            lst = _Box("list")
            lst.ordered, lst.number, lst.items = tag == "ol", 1 if start is None else start, []
            self._push(lst)
        elif tag == "li" and self._boxes[-1].kind in ("list", "item"):
            self._end_implicit_item()
            lst = self._boxes[-1]
            if lst.kind == "list":
                value = _int_attr(attrs, "value")
                lst.number = lst.number if value is None else value
                marker = f"{lst.number}. " if lst.ordered else "- "
                lst.number += 1
                item = _Box("item")
                item.marker = marker
                self._push(item)
        elif tag == "blockquote":
            self._push(_Box("quote"))
        elif tag == "table":
            table = _Box("table")
            table.table, table.later = TableBuilder(), []
            self._push(table)
        elif tag in ("thead", "tbody", "tfoot") and self._boxes[-1].kind == "table":
            self._boxes[-1].head = tag == "thead"

    def _end_implicit_item(self) -> None:
        if self._boxes[-1].kind == "item" and self._boxes[-1].marker is None:
            self._finish_item()

    def _block_end(self, tag: str) -> None:
        self._flush()
        if tag not in _SPECIAL_BLOCKS:
            return
        box = self._boxes[-1]
        if tag in ("td", "th") and box.kind == "cell":
            self._boxes.pop()
            table = self._boxes[-1]
            table.cells += 1
            if table.cells == 1:
                table.first_cell = box.blocks
            text = "\n".join([b.text for b in box.blocks])
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
                    self._add(_Block(text, not lst.ordered or text.startswith("1.")))
            self._end_implicit_item()
        elif tag == "blockquote" and box.kind == "quote":
            self._boxes.pop()
            inner = _join(box.blocks)
            if inner:
                self._add(_Block("\n".join("> " + line if line else ">" for line in inner.split("\n"))))
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
        body = _join(item.blocks, in_item=True)
        if not body:
            return
        if item.marker is None:
            if lst.items:
                lst.items[-1] += "\n" + _indent(body, " " * lst.width, " " * lst.width)
            else:
                lst.items.append(body)
            return
        lst.width = len(item.marker)
        lst.items.append(_indent(body, item.marker, " " * lst.width))

    def _finish_table(self, box: _Box) -> None:
        if box.cells == 1 and box.first_cell is not None:  # a one-cell layout table is a box around its content
            for block in [*box.blocks, *box.first_cell]:
                self._add(block)
            return
        for block in box.blocks:
            self._add(block)
        text = box.table.markdown() if box.table is not None else ""
        if text:
            self._add(_Block(text), later="table")
        for later in box.later:
            self._add(_Block(later))

    def markdown(self) -> str:
        while self._stack:
            self._end(self._stack.pop())
        self._flush()
        while len(self._boxes) > 1:  # only after a parser failure: keep what was read
            box = self._boxes.pop()
            self._boxes[-1].blocks.extend(box.blocks)
        return _join(self.root.blocks)


def _attr(attrs: list[tuple[str, str | None]], name: str) -> str:
    for key, value in attrs:
        if key == name:
            return value or ""
    return ""


def _language(attrs: list[tuple[str, str | None]]) -> str:
    m = _LANG.search(_attr(attrs, "class"))
    return m.group(1) if m else ""


def _image(attrs: list[tuple[str, str | None]]) -> str:
    src = _attr(attrs, "src").strip()
    alt = escape_run(_SPACES.sub(" ", _attr(attrs, "alt")).strip())
    if src.lower().startswith("data:"):
        return f"[inline image: {_data_uri_label(src)}{', alt: ' + alt if alt else ''}]"
    url = safe_url(src)
    if url:
        return f"![{alt}]({url})"
    return f"[image: {alt}]" if alt else "[image]"


def _prepare(html: str) -> str:
    """The input with unparsed constructs removed and every ``<`` that cannot be closed made text.

    html.parser rescans to the end of input for each ``<`` it cannot close, which is quadratic on
    inputs like ``<a <a <a ...``; after this, every ``<`` it sees has its ``>`` (or ``-->``) ahead.
    """
    html = clean(html)
    close = max((m.start() for m in _COMMENT_CLOSE.finditer(html)), default=-1)
    cut = max(close - 3, 0)
    if "<!--" in html[cut:]:
        html = html[:cut] + html[cut:].replace("<!--", "&lt;!--")
    if "<![" in html or "<?" in html:
        html = _UNPARSED.sub(lambda m: m.group(0) if m.group(0).startswith("<!--") else "", html)
    last = html.rfind(">") + 1
    return html[:last] + html[last:].replace("<", "&lt;") if "<" in html[last:] else html


def html_to_markdown(html: str) -> str:
    """Markdown for an HTML fragment; never raises, linear in the input size."""
    converter = _Converter()
    # a last guard: a bug on some input must not lose the whole entry; keep what was read before it
    with contextlib.suppress(Exception):
        htmlscan.scan(_prepare(html), converter, _WANTED)
    return converter.markdown()
