"""The scope: which notebooks and which folder the server may show, resolved once at start.

Every tool, resource, completion, prompt and search result passes through ``Scope`` checks, and an
item outside the scope raises the very same NotFoundError as an item that does not exist, so the
scope cannot be probed. Placement in the tree is always proven by walking down from the scope
root (tree levels are cached by the client), never taken from the caller.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Protocol

from labmcp.config import ScopeSettings
from labmcp.errors import ConfigError, NotFoundError
from labmcp.labarchives.models import (
    ROOT_TREE_ID,
    Download,
    NotebookRef,
    PageEntries,
    SearchResults,
    TreeNode,
)

MAX_WALK_NODES = 50_000
"""A walk that visits more nodes than this stops: a guard against cyclic or absurd trees."""

MAX_REMEMBERED = 20_000
"""Tree paths remembered for quick re-location; the memory is dropped whole when it grows past this."""


class Source(Protocol):
    """The LabArchives calls the notebook layer needs (implemented by LabArchivesClient)."""

    async def notebooks(self) -> tuple[NotebookRef, ...]: ...

    async def get_tree_level(self, nbid: str, parent_tree_id: str = ROOT_TREE_ID) -> tuple[TreeNode, ...]: ...

    async def get_entries_for_page(
        self, nbid: str, page_tree_id: str, entry_data: bool = True, comment_data: bool = False
    ) -> PageEntries: ...

    async def entry_attachment(self, eid: str, max_bytes: int) -> Download: ...

    async def entry_thumb(self, eid: str, max_bytes: int) -> Download: ...

    async def entry_search(
        self, query: str, nbid: str | None = None, page_size: int = 10, page_number: int = 0, entry_data: bool = True
    ) -> SearchResults: ...

    def remember_unknown(self, *key: str) -> None: ...

    def is_unknown(self, *key: str) -> bool: ...


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
    """Answers "may this be shown?" for notebooks, tree nodes and search hits; fails closed."""

    def __init__(self, source: Source, notebooks: tuple[NotebookRef, ...], folder: FolderScope | None) -> None:
        self._source = source
        self._notebooks = {nb.id: nb for nb in notebooks}
        self.folder = folder
        self._paths: dict[tuple[str, str], tuple[str, ...]] = {}

    @property
    def notebooks(self) -> tuple[NotebookRef, ...]:
        return tuple(self._notebooks.values())

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

    async def children(self, nbid: str, parent_tree_id: str, folders: tuple[str, ...]) -> list[Located]:
        """The readable children of a folder that is already known to be in scope.

        Each child's path from the scope root is remembered (when the parent's is known), so a
        later ``locate`` can re-prove it along that path instead of walking the whole tree.
        """
        nb = self.notebook(nbid)
        level = await self._source.get_tree_level(nbid, parent_tree_id)
        found = [Located(nb, node, folders) for node in level if node.user_access.can_read]
        chain = self._chain_to(nbid, parent_tree_id)
        if chain is not None:
            for located in found:
                self._remember(nbid, located.node.tree_id, chain)
        return found

    async def walk(self, nbid: str) -> AsyncIterator[Located]:
        """Every readable node in scope in this notebook, breadth first from the scope root."""
        root_id, root_folders = self.root(nbid)
        queue: deque[tuple[str, tuple[str, ...]]] = deque([(root_id, root_folders)])
        seen = {root_id}
        visited = 0
        while queue:
            parent, folders = queue.popleft()
            for located in await self.children(nbid, parent, folders):
                visited += 1
                if visited > MAX_WALK_NODES:
                    return
                yield located
                node = located.node
                if not node.is_page and node.tree_id not in seen:
                    seen.add(node.tree_id)
                    queue.append((node.tree_id, (*folders, node.display_text)))

    async def locate(self, nbid: str, tree_id: str, *, kind: str) -> Located:
        """Find a node by walking down from the scope root; absent or outside -> not found.

        ``kind`` is ``page`` or ``folder`` and must match the node's type. A node this scope has
        placed before (by a walk, a browse or a search) is re-proven along its remembered path,
        level by level from the scope root, which costs no call while those levels are cached; a
        path that no longer holds falls back to the full walk. An id a whole walk did not find is
        remembered as unknown (in the source's cache, with its lifetime).
        """
        self.notebook(nbid)
        chain = self._paths.get((nbid, tree_id))
        if chain is not None:
            proven = await self._prove(nbid, chain, tree_id)
            if proven is not None and proven.node.is_page == (kind == "page"):
                return proven
        root_id = self.root(nbid)[0]
        if self._source.is_unknown("node", nbid, root_id, tree_id):
            raise not_found(kind, tree_id)
        async for located in self.walk(nbid):
            if located.node.tree_id == tree_id:
                if located.node.is_page == (kind == "page"):
                    return located
                break
        else:
            # A whole walk did not find it: remember that for the cache's lifetime, so asking again
            # (a made-up id, a completion) costs nothing instead of another walk.
            self._source.remember_unknown("node", nbid, root_id, tree_id)
        raise not_found(kind, tree_id)

    def _chain_to(self, nbid: str, tree_id: str) -> tuple[str, ...] | None:
        """The folder ids from the scope root down to and including ``tree_id``, if known."""
        if tree_id == self.root(nbid)[0]:
            return ()
        known = self._paths.get((nbid, tree_id))
        return None if known is None else (*known, tree_id)

    def _remember(self, nbid: str, tree_id: str, chain: tuple[str, ...]) -> None:
        """Note the folder ids between the scope root and a node (the root itself excluded)."""
        if len(self._paths) >= MAX_REMEMBERED:
            self._paths.clear()
        self._paths[(nbid, tree_id)] = chain

    async def _prove(self, nbid: str, chain: tuple[str, ...], tree_id: str) -> Located | None:
        """Walk a remembered path down from the scope root; None unless every step still holds."""
        parent, folders = self.root(nbid)
        nb = self.notebook(nbid)
        for step in (*chain, tree_id):
            level = await self._source.get_tree_level(nbid, parent)
            node = next((n for n in level if n.tree_id == step and n.user_access.can_read), None)
            if node is None:
                return None
            if step == tree_id:
                return Located(nb, node, folders)
            if node.is_page:
                return None
            parent, folders = node.tree_id, (*folders, node.display_text)
        return None

    async def folder_start(self, nbid: str, folder_id: str | None) -> tuple[str, tuple[str, ...]]:
        """Where a browse starts: the scope root, or a folder proven to be inside the scope."""
        root_id, root_folders = self.root(nbid)
        if folder_id is None or folder_id == root_id:
            return root_id, root_folders
        located = await self.locate(nbid, folder_id, kind="folder")
        return located.node.tree_id, located.path

    async def place_hit(self, nbid: str, tree_path: str) -> tuple[bool, Located | None]:
        """Decide whether a search hit may be shown, and find its page when the path names one.

        A hit is placed by its ``tree-path`` (folders/page title, §6.5), walked name by name from
        the notebook root. Under a folder scope it is shown only if every page the path can name
        lies below the scope folder (names may repeat: fail closed). Hits without a notebook id
        (Inbox) are never shown under a restricted scope.
        """
        if not nbid or nbid not in self._notebooks:
            return False, None
        candidates = await self._pages_named(nbid, tree_path)
        if self.folder is not None and self.folder.nbid == nbid:
            inside = bool(candidates) and all(self.folder.tree_id in chain for _, chain in candidates)
            if not inside:
                return False, None
        if len(candidates) != 1:
            return True, None
        page, chain = candidates[0]
        if self.folder is not None and self.folder.nbid == nbid:
            chain = chain[chain.index(self.folder.tree_id) + 1 :]
        self._remember(nbid, page.node.tree_id, chain)
        return True, page

    async def _pages_named(self, nbid: str, tree_path: str) -> list[tuple[Located, tuple[str, ...]]]:
        nb = self.notebook(nbid)
        names = [part for part in tree_path.strip("/").split("/") if part]
        if not names:
            return []
        frontier: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(ROOT_TREE_ID, (), ())]
        for depth, name in enumerate(names):
            last = depth == len(names) - 1
            next_frontier: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = []
            found: list[tuple[Located, tuple[str, ...]]] = []
            for parent, folders, ancestors in frontier:
                for node in await self._source.get_tree_level(nbid, parent):
                    if node.display_text != name or not node.user_access.can_read:
                        continue
                    if last and node.is_page:
                        found.append((Located(nb, node, folders), ancestors))
                    elif not last and not node.is_page:
                        next_frontier.append((node.tree_id, (*folders, name), (*ancestors, node.tree_id)))
            if last:
                return found
            if len(next_frontier) > 64:
                return []  # too many same-named folders to decide: fail closed
            frontier = next_frontier
        return []


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


async def resolve_scope(source: Source, settings: ScopeSettings) -> Scope:
    """Turn names and paths into concrete ids at start; a name or path that does not exist is a
    ConfigError, so a typo stops the server instead of silently widening or emptying the scope."""
    notebooks = _pick_notebook(await source.notebooks(), settings)
    if not settings.folder_path:
        return Scope(source, notebooks, None)
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
    return Scope(source, notebooks, FolderScope(nb.id, parent, folders))
