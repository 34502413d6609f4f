"""Search: LabArchives' full-text search, with every hit proven to be inside the scope by identity.

A hit of ``entry_search`` (§6.5) names its entry id, notebook id and a ``tree-path`` of names. Names
are not identity (a top-level page may be *named* ``Protocols/Bradford assay``), so a hit is shown
only when its entry id is found among the entries of a page inside the scope:

1. the placement index already knows the entry's page (an earlier page read listed the entry), or
2. when the whole notebook is in scope, the page id in the hit's ``entry-url`` (labapi's page-link
   shape, §6.8) is tried: that page of this notebook must list the entry (one call), or
3. the ``tree-path`` is used as a *hint* to find candidate pages below the scope root, reading only
   folders inside the scope; a candidate counts only if its own entries (``get_entries_for_page``)
   contain the hit's entry id. Everything else is withheld, silently.

Pages of results are filled with proven hits by reading further upstream result pages (``SCAN_PAGE``
matches each, without entry data), at most ``MAX_SCAN_CALLS`` per answer; the cursor that continues
a search is opaque and authenticated, so it does not reveal how many withheld matches were skipped.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from typing import Any, Final
from urllib.parse import unquote, urlsplit

from labmcp.errors import (
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RequestBudgetError,
)
from labmcp.labarchives.client import SEARCH_MEMO
from labmcp.labarchives.models import ROOT_TREE_ID, Entry, NotebookRef, TreeNode
from labmcp.notebook import uris
from labmcp.notebook.answers import Rendered, check_index, iso
from labmcp.notebook.cursor import CursorCodec
from labmcp.notebook.escape import escape_text
from labmcp.notebook.excerpts import SEARCH_SNIPPET_CHARS, snippet
from labmcp.notebook.frame import new_nonce, seal
from labmcp.notebook.links import Links
from labmcp.notebook.scope import MAX_NAMED, Located, Scope, Source
from labmcp.notebook.search_text import compose_results, cut, snippet_cap

SCAN_PAGE: Final = 50
"""Upstream matches per ``entry_search`` call while scanning (no entry data, so answers stay small)."""

MAX_SCAN_CALLS: Final = 10
"""``entry_search`` calls one answer may make: at most 500 upstream matches are checked per answer."""

MAX_QUERY_CHARS: Final = 500
MAX_LIMIT: Final = 50
MIN_SNIPPET_CHARS: Final = 40


@dataclass(frozen=True, slots=True)
class Hit:
    """A proven hit: the page it is on, the entry as that page lists it, and where it came from."""

    located: Located
    entry: Entry
    target: int
    offset: int
    snippet: str = ""

    def summarised(self, query: str) -> Hit:
        """This hit with its snippet for ``query`` and its entry without content: a page of hits then
        holds a few hundred characters each, not entries of megabytes (they stay in the cache,
        within its byte budget, or go)."""
        return replace(self, entry=replace(self.entry, entry_data=None), snippet=snippet(self.entry, query))


def page_fields(located: Located, links: Links) -> dict[str, Any]:
    """Where a proven hit sits, as every search-like answer reports it (search, recent changes,
    attachment search): notebook, folder path, page title and id, and the page's link."""
    nb, node = located.notebook, located.node
    return {
        "notebook_id": nb.id,
        "notebook_name": nb.name,
        "folder_path": located.folder_path,
        "page_title": node.display_text,
        "page_id": node.tree_id,
        "link": links.page(nb.id, node.tree_id),
    }


@dataclass(frozen=True, slots=True)
class _Scanned:
    """What one scan proved: the hits, the upstream position after them, whether every match was
    looked at, and the upstream totals read."""

    hits: tuple[Hit, ...]
    target: int
    offset: int
    complete: bool
    totals: tuple[int, ...]


class Searcher:
    """``search``: scan upstream results, prove each hit's placement, fill a page, render it in budget."""

    def __init__(self, source: Source, scope: Scope, links: Links, budget: int, codec: CursorCodec | None = None):
        self._memo = secrets.token_hex(8)  # this searcher's (this scope's) kept scans in the shared cache
        self._source = source
        self._scope = scope
        self._links = links
        self._budget = budget
        self._codec = codec or CursorCodec()

    def targets(self, nbid: str | None) -> list[str | None]:
        """Where to ask LabArchives: the one notebook asked for, each notebook in scope when the scope is
        restricted (or holds one), else every notebook the user can read at once (``None``)."""
        if nbid is not None:
            return [self._scope.notebook(nbid).id]
        if self._scope.folder is not None or len(self._scope.notebooks) == 1:
            return [nb.id for nb in self._scope.notebooks]
        return [None]

    async def search(
        self, query: str, nbid: str | None = None, limit: int = 10, page: int = 0, cursor: str | None = None
    ) -> Rendered:
        query = query.strip()
        if not query:
            raise InvalidArgumentError("query must not be empty")
        if len(query) > MAX_QUERY_CHARS:
            raise InvalidArgumentError(f"query must be at most {MAX_QUERY_CHARS} characters, got {len(query)}")
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidArgumentError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        check_index("page", page, 10_000)
        targets = self.targets(nbid)
        binding = f"{query}\x00{nbid or ''}\x00{limit}"
        if cursor:
            if page:
                raise InvalidArgumentError("give either page or cursor, not both")
            target, offset = self._codec.decode(binding, cursor)
            skip = 0
        else:
            target, offset, skip = 0, 0, page * limit
        # The same question again within the cache's life costs no call, however large the entries
        # behind its hits: what a scan proved is kept (hits carry snippets, not entries), unless the
        # request's call limit cut it short. A changed page drops every kept search (forget_page).
        key = (SEARCH_MEMO, self._memo, binding, page, cursor or "")
        scanned = self._source.recall(key)
        if not isinstance(scanned, _Scanned):
            scanned, stopped = await self._scan(query, targets, target, offset, skip, limit)
            if not stopped:
                self._source.remember(key, scanned)
        position = (scanned.target, scanned.offset)
        return self._answer(
            query, nbid, page, limit, binding, list(scanned.hits), position, scanned.complete, list(scanned.totals)
        )

    async def _scan(
        self, query: str, targets: list[str | None], target: int, offset: int, skip: int, limit: int
    ) -> tuple[_Scanned, bool]:
        """Read upstream matches from a position until ``limit`` proven hits, the end, or the call bound.

        Returns the hits, the position after the last match looked at, whether every upstream match
        has now been looked at, and the upstream totals of the targets read; and whether the
        request's call limit stopped it.
        """
        hits: list[Hit] = []
        placed: dict[str, list[Located]] = {}
        seen: set[str] = set()
        totals: list[int] = []
        calls, stopped = 0, False
        try:
            while target < len(targets) and len(hits) < limit and calls < MAX_SCAN_CALLS:
                results = await self._source.entry_search(
                    query, nbid=targets[target], page_size=SCAN_PAGE, page_number=offset // SCAN_PAGE, entry_data=False
                )
                calls += 1
                totals.append(results.total_found)
                page_start, entries = offset - offset % SCAN_PAGE, results.entries
                for entry in entries[offset - page_start :]:
                    if entry.eid not in seen:
                        hit = await self._prove(entry, targets[target], target, offset, placed)
                        seen.add(entry.eid)
                        if hit is not None and skip:
                            skip -= 1
                        elif hit is not None:
                            hits.append(hit.summarised(query))
                    offset += 1
                    if len(hits) == limit:
                        break
                consumed = offset >= page_start + len(entries)
                if consumed and (len(entries) < SCAN_PAGE or offset >= results.total_found):
                    target, offset = target + 1, 0
        except RequestBudgetError:
            # The request's call limit (LABARCHIVES_MAX_CALLS_PER_REQUEST) is reached: answer with what
            # is proven; the cursor resumes at the match being proven, and what was read stays cached.
            stopped = True
        return _Scanned(tuple(hits), target, offset, target >= len(targets), tuple(totals)), stopped

    async def place(self, entry: Entry, target: str | None, placed: dict[str, list[Located]]) -> Hit | None:
        """Prove one entry of another feed (recent changes, attachment search) by identity, exactly as a search hit.

        ``placed`` is a per-answer memo the caller keeps (empty at first); it may span notebooks.
        """
        return await self._prove(entry, target, 0, 0, placed)

    async def _prove(
        self, entry: Entry, target: str | None, t: int, offset: int, placed: dict[str, list[Located]]
    ) -> Hit | None:
        """The hit if its entry is on a page placed inside the scope; None (withheld) otherwise."""
        nbid = entry.nbid or target or ""
        if not nbid or (target is not None and nbid != target):
            return None
        try:
            self._scope.notebook(nbid)
        except NotFoundError:
            return None
        whole = self._scope.root(nbid)[0] == ROOT_TREE_ID
        known = self._scope.index.page_of(nbid, entry.eid)
        if known is not None:
            located = await self._page(nbid, known, entry, whole)
            found = None if located is None else await self._entry_on(located, entry.eid)
            if located is not None and found is not None:
                return Hit(located, found, t, offset)
        hint = _page_hint(entry.entry_url, nbid) if whole else None
        if hint is not None and hint != known and not self._scope.index.is_unknown(nbid, hint):
            # The whole notebook is in scope: the entry is on page ``hint`` of this notebook if
            # LabArchives lists it among that page's entries (one call, which read_page reuses).
            try:
                found = await self._entry_on(_reported(self._scope.notebook(nbid), hint, entry.tree_path), entry.eid)
            except (NotFoundError, PermissionDeniedError, InvalidRequestError):
                self._scope.index.add_unknown(nbid, hint)
                found = None
            located = None if found is None else await self._page(nbid, hint, entry, whole)
            if located is not None and found is not None:
                return Hit(located, found, t, offset)
        memo = nbid + "\x00"  # ``placed`` holds "<nbid>\0<tree-path>" -> pages, built once per notebook
        if memo not in placed:
            placed[memo] = []
            placed.update((memo + path, pages) for path, pages in self._placed_paths(nbid).items())
        tried: set[str] = set()
        for round_ in range(2):
            candidates = (
                placed.get(memo + entry.tree_path, [])
                if round_ == 0
                else await self._scope.named(nbid, entry.tree_path)
            )
            for candidate in candidates[:MAX_NAMED]:  # a tree-path names at most MAX_NAMED pages
                if candidate.node.tree_id in tried:
                    continue
                tried.add(candidate.node.tree_id)
                found = await self._entry_on(candidate, entry.eid)
                if found is not None:
                    return Hit(candidate, found, t, offset)
        return None

    async def _page(self, nbid: str, page_id: str, entry: Entry, whole: bool) -> Located | None:
        """A page known to hold the entry, as Located: placed by ids where the index can, else (only
        when the whole notebook is in scope) named by the hit's ``tree-path``, which is display only."""
        located = self._scope.placed_in_scope(nbid, page_id)
        if located is not None or whole:
            return located or _reported(self._scope.notebook(nbid), page_id, entry.tree_path)
        try:
            return await self._scope.locate(nbid, page_id, kind="page")
        except NotFoundError:
            return None

    async def _entry_on(self, located: Located, eid: str) -> Entry | None:
        page = await self._scope.entries(located.notebook.id, located.node.tree_id)
        return next((e for e in page.entries if e.eid == eid), None)

    def _placed_paths(self, nbid: str) -> dict[str, list[Located]]:
        """``tree-path`` spelling -> pages the index places inside the scope (built once per answer)."""
        paths: dict[str, list[Located]] = {}
        for record in self._scope.index.known_nodes(nbid):
            if record.node.is_page:
                located = self._scope.placed_in_scope(nbid, record.node.tree_id)
                if located is not None:
                    paths.setdefault("/".join(located.path), []).append(located)
        return paths

    # --- the answer ---------------------------------------------------------------------------------

    def _hit_data(self, hit: Hit) -> dict[str, Any]:
        nb, node = hit.located.notebook, hit.located.node
        return {
            **page_fields(hit.located, self._links),
            "entry_id": hit.entry.eid,
            "part_type": hit.entry.part_type,
            "snippet": hit.snippet,
            "updated_at": iso(hit.entry.updated_at),
            "uri": uris.page_uri(nb.id, node.tree_id),
        }

    def _answer(
        self,
        query: str,
        nbid: str | None,
        page: int,
        limit: int,
        binding: str,
        hits: list[Hit],
        position: tuple[int, int],
        complete: bool,
        totals: list[int],
    ) -> Rendered:
        data = [self._hit_data(hit) for hit in hits]
        cap, with_links = SEARCH_SNIPPET_CHARS, True
        while True:
            next_cursor = None if complete else self._codec.encode(binding, *position)
            note = self._total_note(totals, nbid)
            text = compose_results(query, page, data, cap, with_links, complete, next_cursor, note, self.where(nbid))
            if len(text) <= self._budget:
                break
            # Over budget: shorten snippets first, then leave the links to the structured content,
            # and only then move the last hits to the next page (the cursor resumes at them).
            fitted = snippet_cap(len(text), len(data), cap, self._budget)
            if cap > MIN_SNIPPET_CHARS:
                cap = max(MIN_SNIPPET_CHARS, min(fitted, cap - 1))
            elif with_links:
                with_links = False
            else:
                dropped = hits.pop()
                data.pop()
                position, complete = (dropped.target, dropped.offset), False
        structured = {
            "query": query,
            "page": page,
            "limit": limit,
            "results": [dict(d, snippet=cut(d["snippet"], cap)) for d in data],
            "complete": complete,
            "next_cursor": next_cursor,
            "snippets_shortened": any(len(d["snippet"]) > cap for d in data),
        }
        return Rendered(seal(text, new_nonce()), structured)

    def where(self, nbid: str | None) -> str:
        """The scope searched (recent changes name it too): notebook names, and the folder if any."""
        names = [nb.name for nb in ([self._scope.notebook(nbid)] if nbid else self._scope.notebooks)]
        where = ", ".join(escape_text(name) for name in names)
        if self._scope.folder is not None:
            where += " / " + escape_text("/".join(self._scope.folder.folders))
        return where

    def _total_note(self, totals: list[int], nbid: str | None) -> str:
        """What is known of the total: LabArchives' own count only where every match is in scope."""
        if self._scope.folder is not None or not totals:
            return ""
        return (
            f"LabArchives reports {totals[0]} matching entr{'y' if totals[0] == 1 else 'ies'}"
            f"{'' if nbid or len(self._scope.notebooks) == 1 else ' in all notebooks and the Inbox'}; "
            "entries whose page cannot be proven (e.g. Inbox items) are not shown."
        )


PAGE_LINK_WORDS: Final = frozenset({"page", "pages"})


def _page_hint(url: str, nbid: str) -> str | None:
    """The page id an ``entry-url`` names after this notebook's id, else None.

    §6.8 leaves the form open and names two page-link shapes in use: labapi's
    ``<web>/<nbid>/page/<tree_id>`` and NexusLIMS's ``<web>/#/<nbid>/<tree_id>``. Both path and
    fragment are read, so either (and a fragment after either) is found; an id equal to the notebook
    id, or a link naming another notebook, gives None. It is only a hint: the page must still list
    the entry (one ``get_entries_for_page``), so an unexpected shape costs at most that call.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    for route in (parts.path, parts.fragment):
        segments = [unquote(segment) for segment in route.split("/")]
        for i, segment in enumerate(segments[:-1]):
            if segment != nbid:
                continue
            rest = segments[i + 1 :]
            if rest[0] in PAGE_LINK_WORDS:
                rest = rest[1:]
            if rest and rest[0] and rest[0] != nbid:
                return rest[0]
    return None


def _reported(nb: NotebookRef, page_id: str, tree_path: str) -> Located:
    """A page of a notebook wholly in scope, named as LabArchives' ``tree-path`` reports it (display only)."""
    folders, _, title = tree_path.rpartition("/")
    return Located(nb, TreeNode(page_id, title, True), tuple(folders.split("/")) if folders else ())
