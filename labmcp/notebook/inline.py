"""One paragraph of inline content as Markdown lines, with emphasis only where CommonMark parses it.

The HTML converter hands over a flat token list per paragraph: raw text (``str``) and
``(op, kind, arg)`` tuples: element starts and ends (``**``, ``*``, ``~~``, ``^`` for sup, ``a`` for
links with the URL in ``arg``), opaque Markdown (code spans, images) and hard line breaks. Elements
are properly nested. Each line is written in one pass: whitespace collapsed as a browser collapses
it, markers hugging their content (spaces move outside, empty elements vanish), text escaped with
``escape.escape_run``.

Emphasis markers are kept only where every CommonMark parser pairs them as intended (spec 6.2 and
appendix "process emphasis"; GFM 6.5 for ``~~``): each marker run belongs to one element and is
purely left-flanking (an opener) or purely right-flanking (a closer) under both definitions of
punctuation in use (Unicode P, as cmark-gfm; P and S, as CommonMark 0.31.2 and markdown-it), and
properly nested runs like that pair with each other. An element that cannot be written so
(``<b>Note:</b>Keep``, ``<b>(1)</b>buffer``, ``snake<em>_case</em>word``, ``击<b>「这里」</b>来``,
intraword emphasis) is written as plain text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, NamedTuple, cast

from labmcp.notebook.escape import escape_line_start, escape_run, safe_url

OPEN: Final = 1
CLOSE: Final = 2
ATOM: Final = 3  # (ATOM, "", markdown) opaque Markdown; (ATOM, "code", text) a code span
BREAK: Final = 4
Token = str | tuple[int, str, str]
EMPHASIS: Final = ("**", "*", "~~", "***")

_SPACES = re.compile(r"[ \t\n\f]+")
_BACKTICKS = re.compile(r"`+")
_MAX_PASSES = 4


class _Run(NamedTuple):
    """An emphasis marker written at ``parts[part]``: which element (its opening token's index)."""

    part: int
    marker: str
    element: int
    opens: bool


def code_span(text: str) -> str:
    """``text`` (one line, no leading or trailing space) as a code span: the fence is longer than
    any backtick run inside, padded when the text starts or ends with a backtick."""
    fence = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text[0] == "`" or text[-1] == "`" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _char_kind(ch: str) -> int:
    """Bits: 1 Unicode whitespace, 2 punctuation (P and ASCII), 4 punctuation counting symbols (S)."""
    if ch in " \t\n\f\r":
        return 1
    cat = unicodedata.category(ch)
    if cat == "Zs":
        return 1
    if cat[0] == "P" or (ch.isascii() and ch.isprintable() and not ch.isalnum()):
        return 6
    return 4 if cat[0] == "S" else 0


_KINDS: dict[str, int] = {chr(c): _char_kind(chr(c)) for c in range(128)}


def _kind(ch: str) -> int:
    got = _KINDS.get(ch)
    if got is None:
        got = _char_kind(ch)
        if len(_KINDS) < 8192:
            _KINDS[ch] = got
    return got


def _flanks(prev: str, nxt: str, punct: int) -> tuple[bool, bool]:
    """(left-flanking, right-flanking) of a run between ``prev`` and ``nxt`` (CommonMark 6.2);
    ``punct`` picks the punctuation definition (2: P only, 4: P and S); "" is the line edge."""
    pk = _kind(prev) if prev else 1
    nk = _kind(nxt) if nxt else 1
    prev_ws, next_ws = pk & 1, nk & 1
    prev_p, next_p = pk & punct, nk & punct
    left = not next_ws and (not next_p or bool(prev_ws) or bool(prev_p))
    right = not prev_ws and (not prev_p or bool(next_ws) or bool(next_p))
    return left, right


def _twins(tokens: list[Token]) -> None:
    """``<b><i>x</i></b>``: two emphasis elements around exactly the same content become one
    ``***`` element (its runs could not touch otherwise)."""
    stack: list[int] = []
    for i, tok in enumerate(tokens):
        if isinstance(tok, str):
            continue
        if tok[0] == OPEN:
            stack.append(i)
        elif tok[0] == CLOSE and stack:
            j = stack.pop()
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            outer = tokens[j - 1] if stack and stack[-1] == j - 1 else ""
            twins = not isinstance(outer, str) and {tok[1], outer[1]} == {"*", "**"}
            if twins and not isinstance(nxt, str) and nxt[0] == CLOSE:
                tokens[j - 1], tokens[i + 1] = (OPEN, "***", ""), (CLOSE, "***", "")
                tokens[j], tokens[i] = "", ""


def _emit(  # noqa: PLR0915 - one loop over the tokens, kept whole: it is the hot path
    tokens: list[Token], start: int, end: int, opened: list[int], off: set[int]
) -> tuple[list[str], list[_Run]]:
    """The parts of one line (tokens ``start:end``, elements ``opened`` carried over from the line
    before) and its emphasis runs; elements in ``off`` are written as plain text."""
    parts: list[str] = []
    runs: list[_Run] = []
    stack: list[int] = list(opened)
    pending: list[int] = list(opened)  # openers waiting for content (so empty elements vanish)
    written: dict[int, int] = {}  # element -> index of its opening part
    sup = 0
    space = False
    code_at, code = -1, ""  # the last code span written: where, and its text
    for i in range(start, end):
        tok = tokens[i]
        if isinstance(tok, str):
            text = tok if "  " not in tok and "\n" not in tok and "\t" not in tok else _SPACES.sub(" ", tok)
            if not text:
                continue
            if text[0] == " ":
                space = True
                text = text[1:]
            trailing = text[-1:] == " "
            if trailing:
                text = text[:-1]
            if not text:
                continue
            if space and parts:
                parts.append(" ")
            if pending:
                sup = _open(tokens, pending, parts, runs, written, sup, off)
            parts.append(escape_run(text))
            space = trailing
            continue
        op, kind, arg = tok
        if op == OPEN:
            stack.append(i)
            pending.append(i)
        elif op == CLOSE:
            if not stack:
                continue
            j = stack.pop()
            if pending and pending[-1] == j:
                pending.pop()  # nothing inside: no markers (an empty link shows nothing, as in a browser)
                continue
            at = written.pop(j, -1)
            if at < 0:
                continue
            if kind == "^":
                sup -= 1
                if " " in "".join(parts[at + 1 :]):
                    parts[at] = "^("
                    parts.append(")")
            elif kind == "a":
                if parts[at]:
                    parts.append(f"]({safe_url(arg or tokens[j][2])})")
            elif parts[at]:
                runs.append(_Run(len(parts), kind, j, False))
                parts.append(kind)
        elif op == ATOM:
            if space and parts:
                parts.append(" ")
            if pending:
                sup = _open(tokens, pending, parts, runs, written, sup, off)
            if kind == "code" and code_at >= 0 and not any(parts[code_at + 1 :]):
                # touching code spans: their backtick fences would merge, so they become one span
                code += arg
                parts[code_at] = code_span(code)
                parts.append("")
            elif kind == "code":
                code_at, code = len(parts), arg
                parts.append(code_span(arg))
            else:
                parts.append(arg)
            space = False
        # BREAK never reaches here: lines are split before
    for j in reversed(stack):  # elements still open at the line end
        at = written.get(j, -1)
        if at >= 0 and parts[at]:
            kind = tokens[j][1]
            if kind == "a":
                parts.append(f"]({safe_url(tokens[j][2])})")
            elif kind in EMPHASIS:
                runs.append(_Run(len(parts), kind, j, False))
                parts.append(kind)
    return parts, runs


def _open(
    tokens: list[Token],
    pending: list[int],
    parts: list[str],
    runs: list[_Run],
    written: dict[int, int],
    sup: int,
    off: set[int],
) -> int:
    """Write the pending openers before content; returns the superscript depth after them."""
    for j in pending:
        kind: str = tokens[j][1]
        written[j] = len(parts)
        if kind == "a":
            parts.append("[" if safe_url(tokens[j][2]) else "")
        elif kind == "^":
            parts.append("^")
            sup += 1
        elif sup or j in off:
            parts.append("")
        else:
            runs.append(_Run(len(parts), kind, j, True))
            parts.append(kind)
    pending.clear()
    return sup


def _bad(parts: list[str], runs: list[_Run]) -> set[int]:
    """Elements whose markers are not proven to pair as intended.

    Markers of one character that touch form one delimiter run (CommonMark 6.2). Every run must be
    purely left-flanking (all openers) or purely right-flanking (all closers) under both punctuation
    definitions; properly nested runs like that pair with each other in every parser. A run mixing
    closers and openers (``**a***b*``) is not proven: the elements opening in it give way.
    """
    offsets = [0]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    text = "".join(parts)
    groups: list[list[_Run]] = []
    end = -1
    for run in runs:
        start = offsets[run.part]
        if groups and start == end and groups[-1][-1].marker[0] == run.marker[0]:
            groups[-1].append(run)
        else:
            groups.append([run])
        end = start + len(run.marker)
    bad: set[int] = set()
    for group in groups:
        first, last = offsets[group[0].part], offsets[group[-1].part] + len(group[-1].marker)
        prev, nxt = text[first - 1 : first], text[last : last + 1]
        opens = group[0].opens
        if any(run.opens != opens for run in group):
            bad.update(run.element for run in group if run.opens)
            continue
        outer, inner = (prev, nxt) if opens else (nxt, prev)
        if _kind(inner) == 0 and (not outer or _kind(outer) in (1, 6)):
            continue  # the common case, proven at a glance
        want = (True, False) if opens else (False, True)
        if _flanks(prev, nxt, 2) != want or _flanks(prev, nxt, 4) != want:
            bad.update(run.element for run in group)
    return bad


def _line(tokens: list[Token], start: int, end: int, opened: list[int]) -> str:
    off: set[int] = set()
    for _ in range(_MAX_PASSES):
        parts, runs = _emit(tokens, start, end, opened, off)
        bad = _bad(parts, runs) if runs else set()
        if not bad:
            return escape_line_start("".join(parts))
        off |= bad
    every = {i for i in range(len(tokens)) if type(tokens[i]) is tuple and tokens[i][1] in EMPHASIS}
    parts, _ = _emit(tokens, start, end, opened, every)
    return escape_line_start("".join(parts))


def plain_line(tokens: list[Token]) -> str:
    """The one line of Markdown for tokens that are all text: whitespace collapsed, escaped; "" when empty."""
    text = "".join(cast("list[str]", tokens))
    if "  " in text or "\n" in text or "\t" in text or "\f" in text:
        text = _SPACES.sub(" ", text)
    return escape_line_start(escape_run(text.strip(" ")))


def render(tokens: list[Token]) -> list[list[str]]:
    """A paragraph's tokens as paragraphs of lines: an empty line (two breaks) starts a new one.

    Tokens that are all text (the common case) take ``plain_line`` instead, skipping the element machinery.
    """
    _twins(tokens)
    paragraphs: list[list[str]] = [[]]
    stack: list[int] = []
    start, opened = 0, list[int]()
    for i, tok in enumerate([*tokens, (BREAK, "", "")]):
        if type(tok) is str:
            continue
        if tok[0] == OPEN:
            stack.append(i)
        elif tok[0] == CLOSE and stack:
            stack.pop()
        elif tok[0] == BREAK:
            line = _line(tokens, start, i, opened)
            if line:
                paragraphs[-1].append(line)
            elif paragraphs[-1]:
                paragraphs.append([])
            start, opened = i + 1, list(stack)
    return [p for p in paragraphs if p]
