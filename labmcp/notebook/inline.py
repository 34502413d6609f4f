"""One paragraph of inline content as Markdown lines, with emphasis only where CommonMark parses it.

The HTML converter hands over a flat token list per paragraph: raw text (``str``) and
``(op, kind, arg)`` tuples: element starts and ends (``**``, ``*``, ``~~``, ``^`` for sup, ``a`` for
links with the URL in ``arg``), opaque Markdown (code spans, images) and hard line breaks. Elements
are properly nested. Each line is written in one pass: whitespace collapsed as a browser collapses
it, markers hugging their content (spaces move outside, empty elements vanish), text escaped with
``escape.escape_run``.

Emphasis markers are kept only where a CommonMark parser pairs them as intended. The common case is
proved cheaply: every marker run belongs to one element and is purely left-flanking (an opener) or
purely right-flanking (a closer) under both definitions of punctuation in use (Unicode P, as
cmark-gfm; P and S, as CommonMark 0.31.2 and markdown-it); properly nested runs like that always
pair with each other. Otherwise the line goes through CommonMark's own "process emphasis"
procedure (spec appendix; GFM 6.5 for ``~~``) and an element whose markers would pair otherwise
(``<b>Note:</b>Keep``, ``snake<em>_case</em>word``, ``击<b>「这里」</b>来``) is written as plain text.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, NamedTuple, cast

from labmcp.notebook.escape import escape_line_start, escape_run, safe_url

OPEN: Final = 1
CLOSE: Final = 2
ATOM: Final = 3
BREAK: Final = 4
Token = str | tuple[int, str, str]
EMPHASIS: Final = ("**", "*", "~~")

_SPACES = re.compile(r"[ \t\n\f]+")
_MAX_PASSES = 4


class _Run(NamedTuple):
    """An emphasis marker written at ``parts[part]``: which element (its opening token's index)."""

    part: int
    marker: str
    element: int
    opens: bool
    link: int  # the link it sits in (its opening token's index), or -1


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
    """``<b><i>x</i></b>``: CommonMark reads ``***x***`` as strong inside em, so when ``**`` and ``*``
    wrap exactly the same content the ``**`` goes inside (the same text either way)."""
    stack: list[int] = []
    for i, tok in enumerate(tokens):
        if type(tok) is str:
            continue
        op = tok[0]
        if op == OPEN:
            stack.append(i)
        elif op == CLOSE and stack:
            j = stack.pop()
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                tok[1] == "*"
                and j > 0
                and stack
                and stack[-1] == j - 1
                and tokens[j - 1][1] == "**"
                and type(nxt) is tuple
                and nxt[0] == CLOSE
            ):
                tokens[j - 1], tokens[j] = tokens[j], tokens[j - 1]
                tokens[i], tokens[i + 1] = tokens[i + 1], tokens[i]


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
    links: list[int] = []
    sup = 0
    space = False
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
                sup = _open(tokens, pending, parts, runs, written, links, sup, off)
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
                pending.pop()  # nothing inside: no markers
                if kind == "a" and (target := safe_url(tokens[j][2])):
                    if space and parts:
                        parts.append(" ")
                    if pending:
                        sup = _open(tokens, pending, parts, runs, written, links, sup, off)
                    parts.append(f"<{target}>")
                    space = False
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
                links.pop()
                if parts[at]:
                    parts.append(f"]({safe_url(arg or tokens[j][2])})")
            elif parts[at]:
                runs.append(_Run(len(parts), kind, j, False, links[-1] if links else -1))
                parts.append(kind)
        elif op == ATOM:
            if space and parts:
                parts.append(" ")
            if pending:
                sup = _open(tokens, pending, parts, runs, written, links, sup, off)
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
                runs.append(_Run(len(parts), kind, j, False, -1))
                parts.append(kind)
    return parts, runs


def _open(
    tokens: list[Token],
    pending: list[int],
    parts: list[str],
    runs: list[_Run],
    written: dict[int, int],
    links: list[int],
    sup: int,
    off: set[int],
) -> int:
    """Write the pending openers before content; returns the superscript depth after them."""
    for j in pending:
        kind: str = tokens[j][1]
        written[j] = len(parts)
        if kind == "a":
            parts.append("[" if safe_url(tokens[j][2]) else "")
            links.append(j)
        elif kind == "^":
            parts.append("^")
            sup += 1
        elif sup or j in off:
            parts.append("")
        else:
            runs.append(_Run(len(parts), kind, j, True, links[-1] if links else -1))
            parts.append(kind)
    pending.clear()
    return sup


def _bad(parts: list[str], runs: list[_Run]) -> set[int]:
    """Elements a CommonMark parser would not pair as intended (empty when all are fine).

    The quick proof: each run touches a letter or digit on its inner side and whitespace, the line
    edge or punctuation (under both definitions) on its outer side, and no two runs touch.
    """
    last = len(parts) - 1
    kinds = _KINDS
    for run in runs:
        k = run.part
        before = parts[k - 1] if k else ""
        after = parts[k + 1] if k < last else ""
        if (k and not before) or (k < last and not after) or before in EMPHASIS or after in EMPHASIS:
            break  # an empty part (a marker left out) or touching markers: check properly
        outer, inner = (before[-1:], after[0]) if run.opens else (after[:1], before[-1])
        if kinds.get(inner, -1) != 0 or (outer and kinds.get(outer, -1) not in (1, 6)):
            break
    else:
        return set()
    offsets = [0]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    spans = [(offsets[r.part], offsets[r.part] + len(r.marker)) for r in runs]
    return _process("".join(parts), runs, spans)


def _process(text: str, runs: list[_Run], spans: list[tuple[int, int]]) -> set[int]:
    """CommonMark's "process emphasis" per link scope and marker character, under both punctuation
    definitions: the elements whose markers do not pair with each other."""
    merged: list[tuple[str, int, list[int], int, int]] = []  # char, link, owners, start, end
    for run, (a, b) in zip(runs, spans, strict=True):
        last = merged[-1] if merged else None
        if last is not None and last[4] == a and last[0] == run.marker[0] and last[1] == run.link:
            last[2].extend([run.element] * len(run.marker))
            merged[-1] = (last[0], last[1], last[2], last[3], b)
        else:
            merged.append((run.marker[0], run.link, [run.element] * len(run.marker), a, b))
    kinds = {run.element: run.marker for run in runs}
    good: dict[int, int] = {}
    for punct in (2, 4):
        groups: dict[tuple[int, str], list[tuple[list[int], bool, bool]]] = {}
        for char, link, owners, a, b in merged:
            left, right = _flanks(text[a - 1 : a], text[b : b + 1], punct)
            if char == "~" and len(owners) != 2:
                left = right = False
            groups.setdefault((link, char), []).append((owners, left, right))
        for (_, char), group in groups.items():
            for opened, closed in _pair(group, rule_of_three=char == "*"):
                el = opened[0]
                if all(o == el for o in opened + closed) and len(opened) == len(kinds[el]):
                    good[el] = good.get(el, 0) + 1
    return {el for el in kinds if good.get(el, 0) != 2}


def _pair(runs: list[tuple[list[int], bool, bool]], rule_of_three: bool) -> list[tuple[list[int], list[int]]]:
    """The pairs CommonMark's "process emphasis" forms from one scope's runs of one character."""
    left = [len(owners) for owners, _, _ in runs]
    first = [0] * len(runs)
    pairs: list[tuple[list[int], list[int]]] = []
    bottom: dict[tuple[bool, int], int] = {}
    for ci, (owners, c_open, c_close) in enumerate(runs):
        if not c_close:
            continue
        size = len(owners)
        while left[ci]:
            key = (c_open, size % 3)
            found = -1
            for oi in range(ci - 1, bottom.get(key, -1), -1):
                o_owners, o_open, o_close = runs[oi]
                if not left[oi] or not o_open:
                    continue
                total = len(o_owners) + size
                if rule_of_three and (o_close or c_open) and total % 3 == 0 and (len(o_owners) % 3 or size % 3):
                    continue
                found = oi
                break
            if found < 0:
                bottom[key] = ci - 1
                break
            use = 2 if left[found] >= 2 and left[ci] >= 2 else 1
            end = first[found] + left[found]
            pairs.append((runs[found][0][end - use : end], owners[first[ci] : first[ci] + use]))
            left[found] -= use
            first[ci] += use
            left[ci] -= use
            for between in range(found + 1, ci):
                left[between] = 0
    return pairs


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


def render(tokens: list[Token], *, plain: bool = False) -> list[list[str]]:
    """A paragraph's tokens as paragraphs of lines: an empty line (two breaks) starts a new one.

    ``plain`` says the tokens are all text (the common case), which skips the element machinery.
    """
    if plain:
        line = escape_line_start(escape_run(_SPACES.sub(" ", "".join(cast("list[str]", tokens))).strip(" ")))
        return [[line]] if line else []
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
