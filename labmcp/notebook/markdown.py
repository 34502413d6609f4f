"""Rich-text LabArchives entries (HTML fragments, §7.2) as clean Markdown, with the standard library only.

Two passes, both linear: a forgiving tree builder over ``html.parser`` (implied closes, capped depth,
dropped script/style/head), then a renderer that walks the tree. Text is escaped just enough that it
cannot turn into markup; inline ``data:`` images become a short placeholder, never base64 (§8.9).
Never raises: whatever the input, some Markdown comes out.
"""

from __future__ import annotations

import contextlib
import re
import string
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import NamedTuple

from labmcp.notebook.tables import Cell, gfm_table

MAX_DEPTH = 100


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


BR = "\x01"  # hard line break inside inline text; real control characters are removed from input
_WS = " \t\n\f" + BR

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

# Marked sections (Word's <![if ...]>) and processing instructions are removed before parsing, since
# html.parser rescans to the end for each one it cannot close and raises on some; comments are matched
# only to be skipped (what is inside them is left alone). Every alternative matches once started: linear.
_UNPARSED = re.compile(r"<!--.*?--\s*>|<(?:!\[|\?)[^>]*(?:>|\Z)", re.DOTALL)
_COMMENT_CLOSE = re.compile(r"--\s*>")  # html.parser's own end-of-comment pattern
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_DATA_TEXT = re.compile(r"data:([\w.+/-]*)(?:;[\w=.+-]+)*;base64,[A-Za-z0-9+/=\s]{40,}", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\n\f]+")
_ESCAPE = re.compile(r"[\\`*_~<\[\](!]|&(?=#?\w+;)")
_LINE_START = re.compile(r"#{1,6}(?=\s|$)|>|[-+](?=\s|$)|[-=]+\s*$")
_ORDINAL = re.compile(r"(\d{1,9})([.)])(?=\s|$)")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_URL_ESCAPES = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})
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
    """A fenced code block around ``text`` whose fence no backtick run inside can close."""
    fence = _fence(text, 3)
    return f"{fence}{info}\n{text}\n{fence}"


def _clean(text: str) -> str:
    """Input text minus control characters and lone surrogates; ``&nbsp;`` as a plain space."""
    return _CONTROL.sub("", text).replace("\xa0", " ")


def _data_uri_label(uri: str) -> str:
    """``image/png, 12.3 KB`` for a ``data:`` URI, estimated from its length (base64 is 4 chars per 3 bytes)."""
    header, _, payload = uri[5:].partition(",")
    media = header.split(";")[0].strip()
    media = media if _MEDIA_TYPE.fullmatch(media) else "unknown type"
    payload = payload.strip()
    size = len(payload) * 3 // 4 - payload[-2:].count("=") if ";base64" in header.lower() else len(payload)
    return f"{media}, {format_size(max(size, 0))}"


@dataclass(slots=True)
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)
    has_block: bool = False


class _TreeBuilder(HTMLParser):
    """Builds a small tree the way a browser would recover from the usual mistakes, at bounded depth."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self._stack = [self.root]
        self._skipped: dict[str, int] = {}
        self._head_open = False

    def _close(self, tags: AbstractSet[str], boundaries: AbstractSet[str] = frozenset()) -> None:
        for i in range(len(self._stack) - 1, 0, -1):
            tag = self._stack[i].tag
            if tag in tags:
                del self._stack[i:]
                return
            if tag in boundaries:
                return

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._head_open and (tag in ("html", "body") or (tag not in _HEAD_OK and ":" not in tag)):
            self._close({"head"})
            self._head_open = False
        if tag in ("html", "body"):
            return
        if tag in _CLOSES_P:
            self._close({"p"}, _CELL_SCOPE | {"button"})
        if tag == "li":
            self._close({"li"}, _CELL_SCOPE | {"ul", "ol"})
        elif tag in ("dt", "dd"):
            self._close({"dt", "dd"}, _CELL_SCOPE | {"dl"})
        elif tag in ("thead", "tbody", "tfoot"):
            self._close({"thead", "tbody", "tfoot"}, {"table"})
        elif tag == "tr":
            self._close({"tr"}, {"table"})
        elif tag in ("td", "th"):
            self._close({"td", "th"}, {"tr", "table"})
        elif tag == "a":
            self._close({"a"}, _CELL_SCOPE)
        elif tag in _HEADINGS and self._stack[-1].tag in _HEADINGS:
            self._stack.pop()
        if tag not in _VOID and len(self._stack) > MAX_DEPTH:
            self._skipped[tag] = self._skipped.get(tag, 0) + 1
            return
        node = _Node(tag, {k: _clean(v or "") for k, v in attrs})
        self._stack[-1].children.append(node)
        if tag in _BLOCK:
            for ancestor in reversed(self._stack):
                if ancestor.has_block:
                    break
                ancestor.has_block = True
        if tag not in _VOID:
            self._stack.append(node)
            self._head_open = self._head_open or tag == "head"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipped.get(tag):
            self._skipped[tag] -= 1
        elif tag == "br":  # browsers read a stray </br> as <br>
            self.handle_starttag("br", [])
        elif tag not in _VOID:
            bounds = _CELL_SCOPE if tag not in ("td", "th", "tr", "table", "tbody", "thead", "tfoot") else set()
            self._close({tag}, bounds | ({"ul", "ol"} if tag == "li" else set()))

    def handle_data(self, data: str) -> None:
        data = replace_data_uris(_clean(data))
        if self._stack[-1].tag == "head" and data.strip():
            self._stack.pop()
        self._stack[-1].children.append(data)


def _escape(text: str, in_link: bool) -> str:
    """Escape the characters of one text node that could start or end Markdown markup there."""

    def one(m: re.Match[str]) -> str:
        ch, i, s = m.group(0), m.start(), m.string
        prev = s[i - 1] if i > 0 else ""
        nxt = s[i + 1] if i + 1 < len(s) else ""
        if ch == "\\":
            needed = not nxt or nxt in string.punctuation
        elif ch == "*":
            needed = not (prev.isspace() and nxt.isspace())
        elif ch == "_":
            needed = not ((prev.isalnum() and nxt.isalnum()) or (prev.isspace() and nxt.isspace()))
        elif ch == "~":
            needed = (prev != "" and not prev.isspace()) or nxt == "~"
        elif ch == "<":
            needed = nxt.isalpha() or nxt in ("/", "!", "?")
        elif ch == "[":
            needed = in_link
        elif ch == "]":
            needed = in_link or nxt in ("(", "[", ":")
        elif ch == "(":
            needed = not prev  # right after a tag it could follow our own [..] and make a link
        elif ch == "!":
            needed = not nxt  # "!" then a link of ours would make an image
        else:
            needed = True
        return "\\" + ch if needed else ch

    return _ESCAPE.sub(one, text)


def _escape_line_start(line: str) -> str:
    if _LINE_START.match(line):
        return "\\" + line
    m = _ORDINAL.match(line)
    return f"{m.group(1)}\\{line[m.end(1) :]}" if m else line


def _safe_url(url: str) -> str | None:
    url = url.strip()
    if not url.lower().startswith(_SAFE_SCHEMES):
        return None
    return re.sub(r"[\t\n\f]", "", url).translate(_URL_ESCAPES)


def _one_line(text: str) -> str:
    return _SPACES.sub(" ", text.replace(BR, " ")).strip()


def _wrap(inner: str, marker: str) -> str:
    """Emphasis around each line of ``inner``, with surrounding spaces moved outside the markers."""
    out = []
    for seg in inner.split(BR):
        core = seg.strip(_WS)
        if not core:
            out.append(seg)
            continue
        lead, trail = seg[: len(seg) - len(seg.lstrip(_WS))], seg[len(seg.rstrip(_WS)) :]
        out.append(f"{lead}{marker}{core}{marker}{trail}")
    return BR.join(out)


def _raw_text(node: _Node, br: str) -> str:
    parts: list[str] = []
    for child in node.children:
        if isinstance(child, str):
            parts.append(child)
        elif child.tag == "br":
            parts.append(br)
        elif child.tag not in _DROP:
            parts.append(_raw_text(child, br))
    return "".join(parts)


def _fence(text: str, minimum: int) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(minimum, longest + 1)


class _Block(NamedTuple):
    text: str
    tight: bool = False  # a list that may follow a list item's text without a blank line


def _paragraphs(inline: str) -> list[_Block]:
    """Inline Markdown as paragraphs: hard breaks kept, a blank line where breaks left an empty line."""
    blocks: list[_Block] = []
    run: list[str] = []
    for raw in [*inline.split(BR), ""]:
        line = _SPACES.sub(" ", raw).strip()
        if line:
            run.append(_escape_line_start(line))
        elif run:
            blocks.append(_Block("  \n".join(run)))
            run = []
    return blocks


def _indent(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    return "\n".join([first + lines[0]] + [rest + line if line.strip() else "" for line in lines[1:]])


def _join(blocks: list[_Block], *, in_item: bool = False) -> str:
    out = ""
    for block in blocks:
        out += ("\n" if in_item and block.tight and out else "\n\n" if out else "") + block.text
    return out


def _int_attr(node: _Node, name: str) -> int | None:
    value = node.attrs.get(name, "").strip()
    return min(int(value), 999_999_999) if value.isdigit() and len(value) < 12 else None


def _rows_of(group: _Node) -> list[list[_Node]]:
    rows: list[list[_Node]] = []
    _collect_rows(group.children, rows, [])
    return rows


def _collect_rows(children: list[_Node | str], rows: list[list[_Node]], stray: list[_Node | str]) -> None:
    """The rows of a table, in order; bare cells form rows of their own, anything else is ``stray``."""
    loose: list[_Node] = []
    for child in children:
        if isinstance(child, _Node) and child.tag in ("td", "th"):
            loose.append(child)
            continue
        if loose:
            rows.append(loose)
            loose = []
        if isinstance(child, str) or child.tag not in ("tr", "thead", "tbody", "tfoot"):
            stray.append(child)
        elif child.tag == "tr":
            row = [c for c in child.children if isinstance(c, _Node) and c.tag in ("td", "th")]
            stray += [c for c in child.children if not (isinstance(c, _Node) and c.tag in ("td", "th"))]
            rows.append(row)
        else:
            _collect_rows(child.children, rows, stray)
    if loose:
        rows.append(loose)


class _Renderer:
    """Walks the tree: block structure first, inline text within it."""

    def blocks(self, children: list[_Node | str]) -> list[_Block]:
        out: list[_Block] = []
        pending: list[str] = []
        for child in children:
            if isinstance(child, str):
                pending.append(_escape(child, False))
            elif child.tag in _DROP:
                continue
            elif child.tag in _BLOCK or (child.has_block and child.tag != "a"):
                out += _paragraphs("".join(pending))
                pending = []
                out += self.block(child)
            else:
                pending.append(self.inline(child, frozenset()))
        return out + _paragraphs("".join(pending))

    def block(self, node: _Node) -> list[_Block]:
        tag = node.tag
        if tag in _HEADINGS:
            text = re.sub(r"(\s)(#+)$", r"\1\\\2", _one_line(self.inline_children(node, frozenset())))
            return [_Block("#" * int(tag[1]) + " " + text)] if text else []
        if tag in ("ul", "ol"):
            text = self.bullets(node)
            # only bullets and lists starting at 1 may interrupt a paragraph (CommonMark 5.3)
            tight = node.tag == "ul" or text.startswith("1.")
            return [_Block(text, tight)] if text else []
        if tag == "pre":
            return self.pre(node)
        if tag == "blockquote":
            inner = _join(self.blocks(node.children))
            return [_Block("\n".join("> " + line if line else ">" for line in inner.split("\n")))] if inner else []
        if tag == "table":
            return self.table(node)
        if tag == "hr":
            return [_Block("---")]
        return self.blocks(node.children)

    def bullets(self, node: _Node) -> str:
        ordered = node.tag == "ol"
        number = _int_attr(node, "start")
        number = 1 if number is None else number
        items: list[str] = []
        width = 2
        for child in node.children:
            if isinstance(child, str):
                if child.strip() and items:
                    items[-1] += " " + _escape(child.strip(), False)
                continue
            if child.tag != "li":
                extra = _join(self.blocks([child]))
                if extra and items:
                    items[-1] += "\n" + _indent(extra, " " * width, " " * width)
                elif extra:
                    items.append(extra)
                continue
            value = _int_attr(child, "value")
            number = value if value is not None else number
            marker = f"{number}. " if ordered else "- "
            number += 1
            body = _join(self.blocks(child.children), in_item=True)
            if body:
                width = len(marker)
                items.append(_indent(body, marker, " " * width))
        return "\n".join(items)

    def pre(self, node: _Node) -> list[_Block]:
        text = _raw_text(node, "\n")
        text = (text[1:] if text.startswith("\n") else text).rstrip("\n")
        if not text.strip():
            return []
        code = next((c for c in node.children if isinstance(c, _Node) and c.tag == "code"), node)
        lang = re.search(r"(?:^|\s)(?:language|lang)-([\w+-]{1,32})", code.attrs.get("class", ""))
        return [_Block(fenced(text, lang.group(1) if lang else ""))]

    def table(self, node: _Node) -> list[_Block]:
        rows: list[list[_Node]] = []
        stray: list[_Node | str] = []
        _collect_rows(node.children, rows, stray)
        head = next((c for c in node.children if isinstance(c, _Node) and c.tag in ("thead", "tbody", "tr")), None)
        head_rows = len(_rows_of(head)) if head is not None and head.tag == "thead" else 0
        # browsers show content that is not in a cell before the table ("foster parenting")
        caption = self.blocks(stray)
        cells = [c for row in rows for c in row]
        if len(cells) == 1:  # a one-cell layout table is just a box around its content
            return caption + self.blocks(cells[0].children)
        grid = [[self.cell(c) for c in row] for row in rows]
        text = gfm_table(grid, head_rows=head_rows)
        return [*caption, _Block(text)] if text else caption

    def cell(self, node: _Node) -> Cell:
        text = "\n".join(_SPACES.sub(" ", line) for line in self.inline_children(node, frozenset()).split(BR))
        rowspan = _int_attr(node, "rowspan")
        colspan = _int_attr(node, "colspan") or 1
        return Cell(text, colspan, 1 if rowspan is None else rowspan, header=node.tag == "th")

    def inline_children(self, node: _Node, style: frozenset[str]) -> str:
        in_link = "a" in style
        return "".join(_escape(c, in_link) if isinstance(c, str) else self.inline(c, style) for c in node.children)

    def inline(self, node: _Node, style: frozenset[str]) -> str:
        tag = node.tag
        if tag in _DROP:
            return ""
        if tag == "br":
            return BR
        if tag == "img":
            return self.image(node)
        if tag in ("code", "kbd", "samp", "tt"):
            text = _SPACES.sub(" ", _raw_text(node, " "))
            core = text.strip()
            if not core:
                return " " if text else ""
            fence = _fence(core, 1)
            pad = " " if core.startswith("`") or core.endswith("`") else ""
            return f"{text[: len(text) - len(text.lstrip())]}{fence}{pad}{core}{pad}{fence}"
        marker = {"strong": "**", "b": "**", "em": "*", "i": "*", "s": "~~", "strike": "~~", "del": "~~"}.get(tag)
        if marker:
            inner = self.inline_children(node, style | {marker})
            return inner if marker in style else _wrap(inner, marker)
        if tag == "a":
            return self.link(node, style)
        inner = self.inline_children(node, style)
        if tag == "sup" and inner.strip():
            core = _one_line(inner)
            return "^" + core if " " not in core else f"^({core})"
        if tag in _BLOCK:
            return BR + inner + BR
        return inner

    def link(self, node: _Node, style: frozenset[str]) -> str:
        inner = self.inline_children(node, style | {"a"})
        href = _safe_url(node.attrs.get("href", ""))
        if href is None or "a" in style:
            return inner
        text = _one_line(inner)
        return f"[{text}]({href})" if text else f"<{href}>"

    def image(self, node: _Node) -> str:
        src = node.attrs.get("src", "").strip()
        alt = _escape(_one_line(node.attrs.get("alt", "")), True)
        if src.lower().startswith("data:"):
            return f"[inline image: {_data_uri_label(src)}{', alt: ' + alt if alt else ''}]"
        url = _safe_url(src)
        if url:
            return f"![{alt}]({url})"
        return f"[image: {alt}]" if alt else "[image]"


def _tidy(markdown: str) -> str:
    """Whitespace-only lines emptied, at most one blank line in a row, no leading or trailing space."""
    markdown = re.sub(r"(?m)^[ \t]+$", "", markdown)
    return re.sub(r"\n{3,}", "\n\n", markdown).strip()


def _prepare(html: str) -> str:
    """The input with unparsed constructs removed and every ``<`` that cannot be closed made text.

    html.parser rescans to the end of input for each ``<`` it cannot close, which is quadratic on
    inputs like ``<a <a <a ...``; after this, every ``<`` it sees has its ``>`` (or ``-->``) ahead.
    """
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    close = max((m.start() for m in _COMMENT_CLOSE.finditer(html)), default=-1)
    cut = max(close - 3, 0)
    html = html[:cut] + html[cut:].replace("<!--", "&lt;!--")
    html = _UNPARSED.sub(lambda m: m.group(0) if m.group(0).startswith("<!--") else "", html)
    last = html.rfind(">") + 1
    return html[:last] + html[last:].replace("<", "&lt;")


def html_to_markdown(html: str) -> str:
    """Markdown for an HTML fragment; never raises, linear in the input size."""
    builder = _TreeBuilder()
    # a last guard: html.parser has assert paths; keep whatever was parsed before one fires
    with contextlib.suppress(Exception):
        builder.feed(_prepare(html))
        builder.close()
    return _tidy(_join(_Renderer().blocks(builder.root.children)))
