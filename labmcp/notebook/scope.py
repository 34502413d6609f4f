"""The scope: which notebooks and which folder the server may show, resolved once at start.

Every tool, resource, completion, prompt and search result passes through ``Scope`` checks, and an
item outside the scope raises the very same NotFoundError as an item that does not exist, so the
scope cannot be probed. Placement is proven by identity, never by name: a node is inside a folder
scope only when a chain of tree ids that LabArchives itself reported (``get_node``'s parent, or a
``get_tree_level`` listing) leads from it up to the scope folder's id. Chains are kept in the
placement index (``labmcp.notebook.placement``), so a node placed once costs no call while cached.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

import trio

from labmcp.config import ScopeSettings
from labmcp.errors import (
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    ResourceMissingError,
)
from labmcp.labarchives.models import (
    ROOT_TREE_ID,
    Download,
    NodeDetails,
    NotebookRef,
    PageEntries,
    SearchResults,
    TreeNode,
)
from labmcp.notebook.guide import search_queries
from labmcp.notebook.placement import MAX_CHAIN, Placed, PlacementIndex

MAX_NAMED: Final = 8
"""Pages one ``tree-path`` may name (names repeat, and may contain ``/``); beyond that, none count."""
GUIDE_HITS: Final = 50
"""Search hits read per query when placing a page by its entries' ``tree-path`` (one call)."""
MAX_WALK_LEVELS: Final = 5_000
"""Folder listings one downward search may read: a guard against cyclic or absurd trees."""


class Source(Protocol):
    """The LabArchives calls the notebook layer needs (implemented by LabArchivesClient)."""

    async def notebooks(self) -> tuple[NotebookRef, ...]: ...

    async def get_tree_level(self, nbid: str, parent_tree_id: str = ROOT_TREE_ID) -> tuple[TreeNode, ...]: ...

    async def get_node(self, nbid: str, tree_id: str) -> NodeDetails: ...

    async def get_entries_for_page(
        self, nbid: str, page_tree_id: str, entry_data: bool = True, comment_data: bool = False
    ) -> PageEntries: ...

    async def entry_attachment(
        self, eid: str, max_bytes: int, *, version: int | None = None, listed_size: int | None = None
    ) -> Download: ...

    async def entry_thumb(self, eid: str, max_bytes: int) -> Download: ...

    async def entry_search(
        self, query: str, nbid: str | None = None, page_size: int = 10, page_number: int = 0, entry_data: bool = True
    ) -> SearchResults: ...

    async def modified_since(
        self, since: datetime, nbid: str | None = None, max_to_return: int = 500
    ) -> SearchResults: ...

    def remember(self, key: tuple[Hashable, ...], value: object, size: int | None = None) -> None:
        """Keep a derived value (a rendered page, an extracted attachment) in the source's byte-budgeted cache."""

    def recall(self, key: tuple[Hashable, ...]) -> object | None: ...

    async def attachment_search(
        self,
        terms: str = "",
        extension: str = "",
        nbid: str | None = None,
        max_to_return: int = 100,
        begin_date: str = "",
        end_date: str = "",
    ) -> SearchResults: ...

    def forget_page(self, nbid: str, page_id: str) -> int:
        """Drop what is cached of a page LabArchives reports changed."""

    def forget_notebooks(self) -> None:
        """Drop the cached notebook list, so the next ``notebooks()`` asks LabArchives."""


@dataclass(frozen=True, slots=True)
class Located:
    """A tree node with the names of the folders above it, from the notebook root down."""

    notebook: NotebookRef
    node: TreeNode
    folders: tuple[str, ...]

    @property
    def folder_path(self) -> str:
        return "/".join(self.folders)

    @property
    def path(self) -> tuple[str, ...]:
        return (*self.folders, self.node.display_text)


@dataclass(frozen=True, slots=True)
class FolderScope:
    """The one folder (with everything below it) that a folder-path scope allows."""

    nbid: str
    tree_id: str
    folders: tuple[str, ...]


def not_found(kind: str, ident: str) -> NotFoundError:
    """The single message for "absent" and "out of scope" alike."""
    return NotFoundError(f"{kind} {ident!r} not found")


class Scope:
    """Answers "may this be shown?" for notebooks, tree nodes and entries; fails closed."""

    def __init__(
        self,
        source: Source,
        notebooks: tuple[NotebookRef, ...],
        folder: FolderScope | None,
        index: PlacementIndex | None = None,
        *,
        restricted: bool = True,
    ) -> None:
        self._source = source
        self._notebooks = {nb.id: nb for nb in notebooks}
        self.folder = folder
        self.restricted = restricted
        """False when the settings name no notebook: the scope is every notebook the user can read."""
        self.index = (
            index if index is not None else PlacementIndex(300.0, ScopeSettings().placement_bytes, trio.current_time)
        )

    @property
    def notebooks(self) -> tuple[NotebookRef, ...]:
        return tuple(self._notebooks.values())

    def replace_notebooks(self, notebooks: tuple[NotebookRef, ...]) -> None:
        """An unrestricted scope follows the user's notebook list as LabArchives reports it now."""
        if not self.restricted:
            self._notebooks = {nb.id: nb for nb in notebooks}

    def notebook(self, nbid: str) -> NotebookRef:
        """The notebook if it is in scope, else the not-found error."""
        try:
            return self._notebooks[nbid]
        except KeyError:
            raise not_found("notebook", nbid) from None

    def root(self, nbid: str) -> tuple[str, tuple[str, ...]]:
        """The tree id to start walks from in this notebook, and the folder names above it."""
        self.notebook(nbid)
        if self.folder is not None and self.folder.nbid == nbid:
            return self.folder.tree_id, self.folder.folders
        return ROOT_TREE_ID, ()

    # --- listings and pages ------------------------------------------------------------------------

    async def level(self, nbid: str, parent_tree_id: str) -> tuple[TreeNode, ...]:
        """The readable children of a folder: from the placement index, else one ``get_tree_level``."""
        held = self.index.level(nbid, parent_tree_id)
        if held is not None:
            return held
        return self.index.add_level(nbid, parent_tree_id, await self._source.get_tree_level(nbid, parent_tree_id))

    async def children(self, nbid: str, parent_tree_id: str, folders: tuple[str, ...]) -> list[Located]:
        """The readable children of a folder that is already known to be in scope (each is placed)."""
        nb = self.notebook(nbid)
        return [Located(nb, node, folders) for node in await self.level(nbid, parent_tree_id)]

    async def entries(self, nbid: str, page_id: str, entry_data: bool = True) -> PageEntries:
        """A page's entries (the caller has placed the page); each entry id is indexed to the page."""
        page = await self._source.get_entries_for_page(nbid, page_id, entry_data=entry_data)
        self.index.add_page_entries(nbid, page_id, (entry.eid for entry in page.entries))
        return page

    # --- placing a node by id -----------------------------------------------------------------------

    async def locate(self, nbid: str, tree_id: str, *, kind: str) -> Located:
        """Prove a node lies inside the scope, by ids only; absent or outside -> not found.

        ``kind`` is ``page`` or ``folder`` and must match the node's type. Costs, cold: one
        ``get_node`` per link from the node up to the scope folder (or the notebook's top level)
        that the placement index does not hold yet, where LabArchives names parents. Where it does
        not (§6.3 leaves that open): one ``get_node`` to learn the id exists; for a page, its entries
        (which a read needs anyway), one or two ``entry_search`` calls whose hit's ``tree-path``
        names the folders to list (``_guided``: about 3 + depth); else, and for folders, a downward
        search from the scope root that reads only folders not yet listed. Warm: no call.
        """
        nb = self.notebook(nbid)
        root_id, _ = self.root(nbid)
        if tree_id in (ROOT_TREE_ID, root_id) or self.index.is_unknown(nbid, tree_id):
            raise not_found(kind, tree_id)
        chain = self.index.chain(nbid, tree_id, root_id)
        if chain is None:
            chain = await self._ascend(nbid, tree_id, root_id)
        if chain is None and kind == "page":
            chain = await self._guided(nbid, tree_id, root_id)
        if chain is None:
            chain = await self._descend(nbid, tree_id, root_id)
        located = self._inside(nb, chain, root_id) if chain else None
        if located is None:
            self.index.add_unknown(nbid, tree_id)
            raise not_found(kind, tree_id)
        if located.node.is_page != (kind == "page"):
            raise not_found(kind, tree_id)
        return located

    def _inside(self, nb: NotebookRef, chain: list[Placed], root_id: str) -> Located | None:
        """The node of a complete chain as Located, if the chain ends at the scope root."""
        if chain[-1].parent_id != root_id:
            return None
        _, root_folders = self.root(nb.id)
        names = tuple(placed.node.display_text for placed in reversed(chain[1:]))
        return Located(nb, chain[0].node, (*root_folders, *names))

    async def _details(self, nbid: str, tree_id: str) -> NodeDetails | None:
        """``get_node``, with "no such node" and "not yours" both meaning None (never an error)."""
        try:
            details = await self._source.get_node(nbid, tree_id)
        except (ResourceMissingError, PermissionDeniedError, InvalidRequestError):
            return None
        if details.node.tree_id != tree_id or not details.node.user_access.can_read:
            return None
        return details

    async def _ascend(self, nbid: str, tree_id: str, root_id: str) -> list[Placed] | None:
        """Walk up with ``get_node``'s parent until the scope root, the top, or a held chain.

        Returns the chain (ending at the scope root or the top level); an empty list when an id on
        the way is unknown to LabArchives, unreadable, outside the scope, or the parents loop; None
        when LabArchives does not name parents (the caller then searches downwards).

        The top is anchored by a listing, never by ``get_node`` alone: with the whole notebook in
        scope, the chain must end at a node of this notebook's top-level listing (read first, once
        while cached), so a node of another notebook cannot pass as this one's even if an upstream
        ``get_node`` ignored ``nbid``. Under a folder scope the anchor is the scope folder's id.
        """
        top: dict[str, TreeNode] = {}
        if root_id == ROOT_TREE_ID:
            top = {node.tree_id: node for node in await self.level(nbid, ROOT_TREE_ID)}
        chain: list[Placed] = []
        current = tree_id
        while len(chain) < MAX_CHAIN:
            if current in top:
                return [*chain, Placed(top[current], ROOT_TREE_ID)]
            held = self.index.chain(nbid, current, root_id) if chain else None
            if held is not None:
                return chain + held
            details = await self._details(nbid, current)
            if details is None or details.parent_tree_id == ROOT_TREE_ID:
                return []  # unknown, unreadable, or at the top without meeting the anchor: outside
            if details.parent_tree_id is None:
                return None
            placed = Placed(details.node, details.parent_tree_id)
            if any(p.node.tree_id == placed.node.tree_id for p in chain):
                return []
            chain.append(placed)
            self.index.add_node(nbid, details.node, details.parent_tree_id)
            if placed.parent_id == root_id:
                return chain
            current = placed.parent_id
        return []

    async def _guided(self, nbid: str, tree_id: str, root_id: str) -> list[Placed] | None:
        """Place a page by the ``tree-path`` LabArchives' search gives one of its own entries.

        The queries come from the page's entries (``guide.search_queries``); a hit whose entry id is
        one of the page's names the folders, which are listed from the scope root (``named``), and
        only a page listed there under this very id counts. None when the page has no entry, no
        word, or no hit leads to it: the caller then searches breadth first.
        """
        try:
            page = await self._source.get_entries_for_page(nbid, tree_id, entry_data=True)
        except (NotFoundError, PermissionDeniedError, InvalidRequestError):  # NotFound covers ResourceMissing
            return None
        eids = {entry.eid for entry in page.entries}
        for query in search_queries(page.entries):
            try:
                results = await self._source.entry_search(query, nbid=nbid, page_size=GUIDE_HITS, entry_data=False)
            except (NotFoundError, InvalidRequestError):
                continue
            for path in dict.fromkeys(e.tree_path for e in results.entries if e.eid in eids and e.tree_path):
                for located in await self.named(nbid, path):
                    if located.node.tree_id == tree_id:
                        return self.index.chain(nbid, tree_id, root_id)
        return None

    async def named(self, nbid: str, tree_path: str, limit: int = MAX_NAMED) -> list[Located]:
        """Pages inside the scope whose folder and page names spell ``tree_path`` (a hint only).

        A descent from the scope root that reads only folders inside the scope, each at most once
        while cached. A name may contain ``/``, so every split the names allow is followed, up to
        ``limit`` pages.
        """
        root_id, root_folders = self.root(nbid)
        rest = tree_path
        if root_folders:
            prefix = "/".join(root_folders) + "/"
            if not tree_path.startswith(prefix):
                return []
            rest = tree_path[len(prefix) :]
        found: list[Located] = []
        frontier = [(root_id, rest, root_folders)]
        while frontier and len(found) < limit:
            following: list[tuple[str, str, tuple[str, ...]]] = []
            for parent, remaining, folders in frontier:
                for located in await self.children(nbid, parent, folders):
                    name = located.node.display_text
                    if located.node.is_page and remaining == name:
                        found.append(located)
                    elif not located.node.is_page and name and remaining.startswith(name + "/"):
                        following.append((located.node.tree_id, remaining[len(name) + 1 :], located.path))
            frontier = following[:limit]
        return found[:limit]

    async def _descend(self, nbid: str, tree_id: str, root_id: str) -> list[Placed] | None:
        """Breadth first from the scope root until ``tree_id`` is listed; held levels cost no call.

        Used only where ``get_node`` names no parent. Every listing read is kept in the placement
        index, so the search resumes where earlier ones stopped instead of walking the tree again.
        """
        queue: deque[str] = deque([root_id])
        seen = {root_id}
        listed = 0
        while queue and listed < MAX_WALK_LEVELS:
            parent = queue.popleft()
            listed += 1
            for node in await self.level(nbid, parent):
                if node.tree_id == tree_id:
                    return self.index.chain(nbid, tree_id, root_id) or self._chain_from(nbid, node, parent, root_id)
                if not node.is_page and node.tree_id not in seen:
                    seen.add(node.tree_id)
                    queue.append(node.tree_id)
        return None

    def _chain_from(self, nbid: str, node: TreeNode, parent: str, root_id: str) -> list[Placed] | None:
        """The chain of a node just listed, when the index keeps nothing (caching is off)."""
        if parent == root_id:
            return [Placed(node, parent)]
        above = self.index.chain(nbid, parent, root_id)
        return None if above is None else [Placed(node, parent), *above]

    async def folder_start(self, nbid: str, folder_id: str | None) -> tuple[str, tuple[str, ...]]:
        """Where a browse starts: the scope root, or a folder proven to be inside the scope."""
        root_id, root_folders = self.root(nbid)
        if folder_id is None or folder_id == root_id:
            return root_id, root_folders
        located = await self.locate(nbid, folder_id, kind="folder")
        return located.node.tree_id, located.path

    async def known_in_scope(self, nbid: str, *, pages: bool) -> list[tuple[str, str]]:
        """``(id, name)`` of the pages (or folders) the index places inside the scope.

        Lists at most one more folder first (one call): the shallowest folder inside the scope whose
        listing is not held, so each completion costs at most one call and the next reaches further.
        """
        root_id, _ = self.root(nbid)
        pending = self._first_unlisted(nbid, root_id)
        if pending is not None:
            await self.level(nbid, pending)
        known = []
        for placed in self.index.known_nodes(nbid):
            if placed.node.is_page == pages and self.placed_in_scope(nbid, placed.node.tree_id) is not None:
                known.append((placed.node.tree_id, placed.node.display_text))
        return known

    def _first_unlisted(self, nbid: str, root_id: str) -> str | None:
        """The shallowest folder in scope whose listing the index does not hold (breadth first)."""
        queue: deque[str] = deque([root_id])
        seen = {root_id}
        while queue and len(seen) < MAX_WALK_LEVELS:
            folder = queue.popleft()
            level = self.index.level(nbid, folder)
            if level is None:
                return folder
            for node in level:
                if not node.is_page and node.tree_id not in seen:
                    seen.add(node.tree_id)
                    queue.append(node.tree_id)
        return None

    def placed_in_scope(self, nbid: str, tree_id: str) -> Located | None:
        """A node whose whole chain to the scope root is held (no call), else None."""
        root_id, _ = self.root(nbid)
        chain = self.index.chain(nbid, tree_id, root_id)
        return None if chain is None else self._inside(self.notebook(nbid), chain, root_id)


def _choices(names: Iterable[str], what: str, most: int = 20) -> str:
    """``; the notebooks are: 'A', 'B'``: what a typo in a scope setting could have meant (names, not ids)."""
    listed = sorted(set(names))
    if not listed:
        return f"; there are no {what}"
    shown = ", ".join(repr(name) for name in listed[:most])
    more = f" and {len(listed) - most} more" if len(listed) > most else ""
    return f"; the {what} are: {shown}{more}"


def _pick_notebook(available: Iterable[NotebookRef], settings: ScopeSettings) -> tuple[NotebookRef, ...]:
    notebooks = tuple(available)
    if settings.notebook_id:
        chosen = [nb for nb in notebooks if nb.id == settings.notebook_id]
        if not chosen:
            raise ConfigError(
                f"LABARCHIVES_NOTEBOOK_ID {settings.notebook_id!r} is not a notebook of this user"
                + _choices((f"{nb.name} (id {nb.id})" for nb in notebooks), "notebooks")
            )
        return (chosen[0],)
    if settings.notebook_name:
        exact = [nb for nb in notebooks if nb.name == settings.notebook_name]
        if not exact:
            exact = [nb for nb in notebooks if nb.name.casefold() == settings.notebook_name.casefold()]
        if not exact:
            raise ConfigError(
                f"LABARCHIVES_NOTEBOOK_NAME {settings.notebook_name!r} is not a notebook of this user"
                + _choices((nb.name for nb in notebooks), "notebooks")
            )
        if len(exact) > 1:
            raise ConfigError(
                f"LABARCHIVES_NOTEBOOK_NAME {settings.notebook_name!r} names {len(exact)} notebooks; "
                "use LABARCHIVES_NOTEBOOK_ID"
            )
        return (exact[0],)
    return notebooks


async def resolve_scope(source: Source, settings: ScopeSettings, index: PlacementIndex | None = None) -> Scope:
    """Turn names and paths into concrete ids at start; a name or path that does not exist is a
    ConfigError, so a typo stops the server instead of silently widening or emptying the scope."""
    notebooks = _pick_notebook(await source.notebooks(), settings)
    if not settings.folder_path:
        return Scope(source, notebooks, None, index, restricted=settings.restricted)
    nb = notebooks[0]
    parent: str = ROOT_TREE_ID
    folders: tuple[str, ...] = ()
    for name in settings.folder_path.split("/"):
        level = await source.get_tree_level(nb.id, parent)
        matches = [n for n in level if not n.is_page and n.display_text == name and n.user_access.can_read]
        if len(matches) != 1:
            if matches:
                problem = f"is ambiguous ({len(matches)} folders named {name!r})"
            else:
                where = "/".join(folders) or "the top level"
                siblings = (n.display_text for n in level if not n.is_page and n.user_access.can_read)
                problem = f"does not exist: no folder {name!r} in {where}" + _choices(siblings, f"folders in {where}")
            raise ConfigError(f"LABARCHIVES_FOLDER_PATH {settings.folder_path!r} {problem} (notebook {nb.name!r})")
        parent, folders = matches[0].tree_id, (*folders, name)
    return Scope(source, notebooks, FolderScope(nb.id, parent, folders), index)
