"""Cut long text into windows that fit the output budget, without ever losing a character.

Consecutive windows taken at ``next_start`` concatenate to exactly the original text, so a caller
that keeps following the continuation notice reads everything once. Cuts prefer a line end, then a
space, within the last tenth of the window, and never fall inside ``\\r\\n`` or a surrogate pair.
"""

from __future__ import annotations

from dataclasses import dataclass

from labmcp.errors import InvalidArgumentError

# How far back from the hard limit a cut may move to land on a clean boundary.
_CLEAN_FRACTION = 10


@dataclass(frozen=True, slots=True)
class Slice:
    """One window ``text[start:end]`` of a text of ``total`` characters."""

    text: str
    start: int
    end: int
    total: int
    truncated: bool
    next_start: int | None

    def notice(self, tool: str) -> str:
        """The line that tells the caller what it is seeing and how to read on."""
        if self.truncated:
            return (
                f"[Showing characters {self.start}-{self.end} of {self.total}. "
                f"Call {tool} again with start_index={self.end} to continue.]"
            )
        if self.start >= self.total and self.total > 0:
            return f"[start_index is at or past the end: the content has {self.total} characters.]"
        return f"[Showing characters {self.start}-{self.end} of {self.total}; this is the end.]"


def _splits_pair(text: str, cut: int) -> bool:
    """True when a cut at ``cut`` would separate ``\\r\\n`` or a UTF-16 surrogate pair."""
    if cut <= 0 or cut >= len(text):
        return False
    before, after = text[cut - 1], text[cut]
    if before == "\r" and after == "\n":
        return True
    return "\ud800" <= before <= "\udbff" and "\udc00" <= after <= "\udfff"


def _clean_cut(text: str, start: int, hard: int) -> int:
    """The best cut in ``(start, hard]``: after the last newline, else whitespace, in the final tenth."""
    floor = max(start + 1, hard - max(1, (hard - start) // _CLEAN_FRACTION))
    newline = text.rfind("\n", floor - 1, hard)
    if newline >= 0:
        return newline + 1
    for i in range(hard - 1, floor - 2, -1):
        if text[i].isspace():
            return i + 1
    return hard


def slice_text(text: str, start: int, max_chars: int) -> Slice:
    """The window of at most ``max_chars`` characters from ``start``.

    A ``start`` at or past the end gives an empty, non-truncated slice at the end (its notice says so)
    rather than an error, so a caller that overshoots still learns the length. A window never ends
    inside ``\\r\\n`` or a surrogate pair; in the one case where avoiding that means a window of zero
    characters (``max_chars`` of 1 at such a pair), it takes one character more instead.
    """
    if start < 0:
        raise InvalidArgumentError(f"start must be >= 0, got {start}")
    if max_chars < 1:
        raise InvalidArgumentError(f"max_chars must be >= 1, got {max_chars}")
    total = len(text)
    if start >= total:
        return Slice("", total, total, total, False, None)
    hard = start + max_chars
    if hard >= total:
        return Slice(text[start:], start, total, total, False, None)
    end = _clean_cut(text, start, hard)
    if _splits_pair(text, end):
        end = end - 1 if end - 1 > start else end + 1
    truncated = end < total
    return Slice(text[start:end], start, end, total, truncated, end if truncated else None)
