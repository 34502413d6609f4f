"""A small, fast HTML tokeniser with ``html.parser``'s reading of tags, text and character references.

``html.parser`` spends most of its time on bookkeeping we do not need (line and column numbers,
every attribute of every tag, one method call per regular expression). This reads the same
constructs with one regular expression per tag: start and end tags (names lower-cased, quoted
attribute values may hold ``>``), comments, declarations and processing instructions (skipped),
``<script>``/``<style>`` content (raw text, skipped), text with character references decoded by
``html.unescape`` (what ``html.parser`` uses), and a ``<`` that starts no tag as text. Attributes are
parsed only for the tags the caller asks for. Linear: every pattern either matches or fails within
the next ``>``, and callers make sure each ``<`` has one (``prepare``).
"""

from __future__ import annotations

import re
from html import unescape
from typing import Protocol

from labmcp.digits import is_digits
from labmcp.notebook.escape import clean

# Marked sections (Word's <![if ...]>) and processing instructions are removed before parsing, since
# html.parser rescans to the end for each one it cannot close and raises on some; comments are matched
# only to be skipped (what is inside them is left alone). Every alternative matches once started: linear.
_UNPARSED = re.compile(r"<!--.*?--\s*>|<(?:!\[|\?)[^>]*(?:>|\Z)", re.DOTALL)
_COMMENT_CLOSE = re.compile(r"--\s*>")  # html.parser's own end-of-comment pattern
# One token per match, in this order at each "<": a tag (names lower-cased by the caller, quoted attribute
# values may hold ">"), a comment, declaration or other construct (skipped), or a lone "<" (text).
_TOKEN = re.compile(
    r"""([^<]+)"""
    r"""|<(/?)([a-zA-Z][^\t\n\r\f />\x00]*)((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>"""
    r"""|(<!--.*?--\s*>|<[!?/][^>]*>)"""
    r"""|<""",
    re.DOTALL,
)
_TEXT, _TAG_END = 1, 4  # what ``lastindex`` says for text and for a tag
_ATTR = re.compile(r"""([^\s/>="'][^\s/>=]*)(?:\s*=+\s*('[^']*'|"[^"]*"|(?!['"])[^>\s]*))?""")
_RAW_TEXT = {"script": re.compile(r"</script\s*>", re.IGNORECASE), "style": re.compile(r"</style\s*>", re.IGNORECASE)}


_COMMON_NAMES = (
    "nbsp amp lt gt quot apos times minus deg micro plusmn middot mdash ndash hellip lsquo rsquo ldquo rdquo "
    "bull copy reg trade eacute egrave aacute oacute uuml ouml auml szlig alpha beta gamma delta mu"
)
_COMMON_REFS = {name: unescape(f"&{name};") for name in _COMMON_NAMES.split()}
"""Named references whose ``&name;`` ``html.unescape`` always decodes the same way (their names hold
no character that ends a reference name), decoded by it once here."""


def decode(text: str) -> str:
    """``html.unescape(text)``, faster when every ``&`` in ``text`` starts one of the common named
    references written in full (the usual case in notebook HTML: ``&nbsp;``, ``&amp;``, ``&lt;``):
    each of those decodes the same wherever it stands, since a reference name ends at the first
    ``&`` or ``;``. Anything else (numeric references, unknown names, a missing ``;``) goes to
    ``unescape`` whole."""
    parts = text.split("&")
    out = [parts[0]]
    common = _COMMON_REFS
    for part in parts[1:]:
        name, semicolon, rest = part.partition(";")
        char = common.get(name) if semicolon else None
        if char is None:
            return unescape(text)
        out.append(char)
        out.append(rest)
    return "".join(out)


class Handler(Protocol):
    """What the tokeniser calls, with ``html.parser``'s argument shapes."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None: ...
    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None: ...
    def handle_endtag(self, tag: str) -> None: ...
    def handle_data(self, data: str) -> None: ...


def attributes(raw: str) -> list[tuple[str, str | None]]:
    """The attributes of a tag's inside, as ``html.parser`` gives them (names lower-cased,
    values unquoted and unescaped, None for a bare name)."""
    out: list[tuple[str, str | None]] = []
    for m in _ATTR.finditer(raw):
        value = m.group(2)
        if value is not None:
            if value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) > 1:
                value = value[1:-1]
            if "&" in value:
                value = unescape(value)
        out.append((m.group(1).lower(), value))
    return out


def scan(html: str, handler: Handler, wanted: frozenset[str]) -> None:
    """Feed ``html`` to ``handler``; start tags named in ``wanted`` get their attributes, others ``[]``."""
    data = handler.handle_data
    start_tag = handler.handle_starttag
    empty_tag = handler.handle_startendtag
    end_tag = handler.handle_endtag
    pos, size = 0, len(html)
    while pos < size:
        for m in _TOKEN.finditer(html, pos):
            kind = m.lastindex
            if kind == _TEXT:
                text = m.group(1)
                data(decode(text) if "&" in text else text)
            elif kind == _TAG_END:
                slash, name, inside = m.group(2, 3, 4)
                name = name.lower()
                if slash:
                    end_tag(name)
                    continue
                attrs = attributes(inside) if inside and name in wanted else []
                if inside.endswith("/"):
                    empty_tag(name, attrs)
                    continue
                start_tag(name, attrs)
                raw = _RAW_TEXT.get(name)
                if raw is not None:  # skip to the end of the raw text, then read on from there
                    close = raw.search(html, m.end())
                    pos = close.end() if close else size
                    end_tag(name)
                    break
            elif kind is None:  # a "<" that starts nothing: text ("other" constructs are skipped)
                data("<")
        else:
            return


def attr(attrs: list[tuple[str, str | None]], name: str) -> str:
    for key, value in attrs:
        if key == name:
            return value or ""
    return ""


def int_attr(attrs: list[tuple[str, str | None]], name: str) -> int | None:
    if not attrs:
        return None
    value = attr(attrs, name).strip()
    return min(int(value), 999_999_999) if is_digits(value) and len(value) < 12 else None


def prepare(html: str) -> str:
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
