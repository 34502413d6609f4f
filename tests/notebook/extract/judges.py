"""Reading our Markdown back with an independent CommonMark + GFM parser (markdown-it-py)."""

from __future__ import annotations

import html
import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

_MD = MarkdownIt("commonmark").enable("table")


def tokens(markdown: str) -> list[Token]:
    return _MD.parse(markdown)


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table as rows of cell texts (header row first), as a GFM reader sees them."""
    out: list[list[list[str]]] = []
    row: list[str] | None = None
    for token in tokens(markdown):
        if token.type == "table_open":
            out.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and row is not None:
            row.append(token.content)
        elif token.type == "tr_close" and row is not None:
            out[-1].append([_unescape(c) for c in row])
            row = None
    return out


def _unescape(text: str) -> str:
    """A cell's inline source with Markdown backslash escapes removed (what a reader shows)."""
    rendered = _MD.renderInline(text).replace("<br>", "\n").replace("<br />", "\n")
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def headings(markdown: str) -> list[tuple[int, str]]:
    out, level = [], 0
    for token in tokens(markdown):
        if token.type == "heading_open":
            level = int(token.tag[1])
        elif token.type == "inline" and level:
            out.append((level, _unescape(token.content)))
            level = 0
    return out


def list_items(markdown: str) -> list[tuple[str, str]]:
    """(``bullet``/``ordered``, item text) of every list item's first paragraph."""
    out, kinds, in_item = [], [], False
    for token in tokens(markdown):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            kinds.append("bullet" if token.type.startswith("bullet") else "ordered")
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            kinds.pop()
        elif token.type == "list_item_open":
            in_item = True
        elif token.type == "inline" and in_item:
            out.append((kinds[-1], _unescape(token.content)))
            in_item = False
    return out


def plain(markdown: str) -> str:
    """The text a reader sees: every inline run, unescaped, one per line."""
    return "\n".join(_unescape(t.content) for t in tokens(markdown) if t.type == "inline")
