"""Words to find a page by, for placing it where ``get_node`` names no parent (pure, no I/O).

Where LabArchives' ``get_node`` does not say a node's parent (§6.3 leaves it open), a page can still
be placed without a breadth-first walk: LabArchives' own ``entry_search`` (§6.5) returns, for each
hit, the ``tree-path`` of names down to the hit's page. Searching for words of one of the page's own
entries finds that entry; its ``tree-path`` then names the folders to list from the scope root, and
the page is placed by identity in those listings. These functions pick the words: a quoted phrase of
the entry's first words (precise where the search matches phrases), then the entry's most distinctive
single word (where it does not). Nothing here is trusted: the listings decide.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Final

from labmcp.labarchives.models import PART_TEXT, Entry

PHRASE_WORDS: Final = 6
"""Words in the quoted phrase: enough to single an entry out, few enough to stay within one line."""
MIN_WORD: Final = 3
SCANNED_CHARS: Final = 4_000
"""Characters of an entry read for words: the start of an entry is as distinctive as the rest."""

_TAG: Final = re.compile(r"<[^>]*>")
_WORD: Final = re.compile(r"[A-Za-z0-9]+", re.ASCII)


def _text(entry: Entry) -> str:
    data = (entry.entry_data or "")[:SCANNED_CHARS]
    if entry.part_type == PART_TEXT:
        data = html.unescape(_TAG.sub(" ", data))
    return " ".join(data.split())


def search_queries(entries: Iterable[Entry]) -> list[str]:
    """At most two ``entry_search`` queries that should find one of ``entries``: a quoted phrase of
    an entry's first plain words, then its most distinctive word (longest, digits preferred: sample
    ids, dates and run numbers tell pages apart). Empty when no entry has a word to search for."""
    for entry in entries:
        words = _text(entry).split(" ")
        phrase: list[str] = []
        for word in words:
            if not _WORD.fullmatch(word):
                break
            phrase.append(word)
            if len(phrase) == PHRASE_WORDS:
                break
        tokens = [t for t in _WORD.findall(" ".join(words)) if len(t) >= MIN_WORD]
        if not tokens:
            continue
        best = max(tokens, key=lambda t: (any(c.isdigit() for c in t), len(t)))
        queries = [f'"{" ".join(phrase)}"'] if len(phrase) >= 2 else []
        return [*queries, best]
    return []
