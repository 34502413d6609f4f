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
from typing import Final

from labmcp.notebook import htmlscan, inline
from labmcp.notebook.blocks import (
    DATA_URI,
    Block,
    Box,
    Containers,
    data_uri_label,
    fenced,
    format_size,
    join_blocks,
    replace_data_uris,
)
from labmcp.notebook.escape import escape_run, safe_url
from labmcp.notebook.htmlscan import attr

__all__ = ["MAX_DEPTH", "fenced", "format_size", "html_to_markdown", "replace_data_uris"]

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
_PLAIN_BLOCK = _BLOCK - {"pre"}  # block tags that are neither dropped, inline, nor read raw
_CLOSES_P = _BLOCK - _tags("li dd dt td th tr tbody thead tfoot caption body html")
_CELL_SCOPE = _tags("td th table caption")
_TABLE_PARTS = _tags("td th tr table tbody thead tfoot")
_EMPHASIS = {"strong": "**", "b": "**", "em": "*", "i": "*", "s": "~~", "strike": "~~", "del": "~~"}
_CODE = _tags("code kbd samp tt")
_P = frozenset({"p"})
_P_BOUNDS = _CELL_SCOPE | {"button"}
_LI_BOUNDS = _CELL_SCOPE | {"ul", "ol"}
_DL_BOUNDS = _CELL_SCOPE | {"dl"}
_GROUP_CLOSES = _tags("thead tbody tfoot tr td th")
_NONE: frozenset[str] = frozenset()

_SPACES = re.compile(r"[ \t\n\f]+")
_HEADING_END = re.compile(r"(\s)(#+)$")  # a closing sequence of #s a heading line would lose
_LANG = re.compile(r"(?:^|\s)(?:language|lang)-([\w+-]{1,32})")


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
_WANTED = _tags("a img ol li td th pre code")  # the tags whose attributes we read
_END_BOUNDS = {tag: _NONE for tag in _TABLE_PARTS} | {"li": _LI_BOUNDS}


class _Converter(Containers):
    """Tokeniser events straight to Markdown blocks (see the module docstring)."""

    def __init__(self) -> None:
        self.root = Box("root")
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
            self._close(_P, _P_BOUNDS)
        implied = _IMPLIED.get(tag)
        if implied is not None:
            if stack and stack[-1] not in implied[1]:  # (a boundary on top: nothing to close, the common case)
                self._close(*implied)
        elif tag in _HEADINGS and stack and stack[-1] in _HEADINGS:
            self._end(stack.pop())
        if tag in _VOID:
            self._void(tag, attrs)
        elif len(stack) >= MAX_DEPTH:
            self._skipped[tag] = self._skipped.get(tag, 0) + 1
        else:
            stack.append(tag)
            if tag in _PLAIN_BLOCK and not self._drop:  # the common case, without the dispatch
                self._block_start(tag, attrs)
            else:
                self._start(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        stack = self._stack
        if stack and stack[-1] == tag and not self._skipped and (self._raw is None or tag == self._raw_tag):
            stack.pop()  # the common case, taken before the checks below (none applies to it)
            if tag in _PLAIN_BLOCK and not self._drop:
                self._block_end(tag)
            else:
                self._end(tag)
            return
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
            for m in DATA_URI.finditer(data):
                self._tokens.append(data[last : m.start()])
                self._atom(f"[inline data: {data_uri_label(m[0])}]")
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
        if tag in _PLAIN_BLOCK and not self._drop:  # the common case first
            self._block_start(tag, attrs)
        elif tag in _DROP:
            self._drop += 1
            self._head_open = self._head_open or tag == "head"
        elif self._drop:
            return
        elif tag in _INLINE:
            self._inline_open(_INLINE[tag], attr(attrs, "href") if tag == "a" else "")
        elif tag in _CODE:
            self._raw, self._raw_tag = [], tag
        elif tag == "pre":
            self._flush()
            self._raw, self._raw_tag = [], tag
            self._pre_lang = _language(attrs)
        else:
            self._block_start(tag, attrs)

    def _end(self, tag: str) -> None:
        if tag in _PLAIN_BLOCK and not self._drop:  # the common case first
            self._block_end(tag)
        elif tag in _DROP:
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
            self._add(Block("---"))

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
            self._add(Block(fenced(text, self._pre_lang)), later="code block")

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
        if plain:  # the common case: one line of text, added as _add would add it
            line = inline.plain_line(tokens)
            if not line:
                return
            box = self._boxes[-1]
            if not self._heading and box.kind != "list":
                box.blocks.append(Block(line))
                return
            paragraphs = [[line]]
        else:
            paragraphs = inline.render(tokens)
            if not paragraphs:
                return
        if self._heading and not self._in("cell"):
            text = _HEADING_END.sub(r"\1\\\2", " ".join(line for lines in paragraphs for line in lines))
            self._add(Block("#" * self._heading + " " + text))
            return
        for lines in paragraphs:
            self._add(Block("  \n".join(lines)))

    def markdown(self) -> str:
        while self._stack:
            self._end(self._stack.pop())
        self._flush()
        while len(self._boxes) > 1:  # only after a parser failure: keep what was read
            box = self._boxes.pop()
            self._boxes[-1].blocks.extend(box.blocks)
        return join_blocks(self.root.blocks)


def _language(attrs: list[tuple[str, str | None]]) -> str:
    m = _LANG.search(attr(attrs, "class"))
    return m.group(1) if m else ""


def _image(attrs: list[tuple[str, str | None]]) -> str:
    src = attr(attrs, "src").strip()
    alt = escape_run(_SPACES.sub(" ", attr(attrs, "alt")).strip())
    if src.lower().startswith("data:"):
        return f"[inline image: {data_uri_label(src)}{', alt: ' + alt if alt else ''}]"
    url = safe_url(src)
    if url:
        return f"![{alt}]({url})"
    return f"[image: {alt}]" if alt else "[image]"


def html_to_markdown(html: str) -> str:
    """Markdown for an HTML fragment; never raises, linear in the input size."""
    converter = _Converter()
    # a last guard: a bug on some input must not lose the whole entry; keep what was read before it
    with contextlib.suppress(Exception):
        htmlscan.scan(htmlscan.prepare(html), converter, _WANTED)
    return converter.markdown()
