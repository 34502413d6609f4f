"""The placement index: where each tree node and entry sits, as LabArchives itself said, in a byte budget.

Scope decisions need a node's chain of parents up to the scope root. LabArchives gives that chain
only piecewise: ``get_tree_level`` lists a folder's children (§6.3), ``get_node`` may name a node's
parent (the layout is open, §6.3), and ``get_entries_for_page`` lists a page's entries. Every such
answer is recorded here by *id*: ``tree id -> (parent id, name, kind)`` and ``entry id -> page id``.
Names are kept for display only; no decision in this module or in the scope ever compares names.

Records expire with the LabArchives cache lifetime (``cache_ttl``), so a page moved out of the scope
is re-placed within that time, exactly like a cached tree level would be. The index is bounded by an
estimate of the bytes it holds (``max_bytes``); the least recently used records go first, and a chain
with an evicted link is simply re-placed with calls. Unknown ids (LabArchives said "no such node"
or the node proved to lie outside the scope) are remembered too, so asking again costs no call.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import Final

from labmcp.labarchives.models import ROOT_TREE_ID, TreeNode

RECORD_OVERHEAD: Final = 250
"""Bytes charged per record beyond its strings: the dict slot, the key and value tuples, expiry and cost."""
NODE_OVERHEAD: Final = 250
"""Charged on top for a node record: its ``Placed``, ``TreeNode`` and ``UserAccess`` objects."""
SLOT_BYTES: Final = 8
"""Charged per id of a folder listing (a pointer in its tuple)."""

MAX_CHAIN: Final = 256
"""Longest parent chain followed; a longer one (or a cycle) counts as unplaced."""


@dataclass(frozen=True, slots=True)
class Placed:
    """A node as LabArchives listed it, with the id of the folder that holds it (``0`` = top level)."""

    node: TreeNode
    parent_id: str


def _cost(*parts: str, extra: int = 0) -> int:
    """Bytes charged for a record holding ``parts``: each string's ``sys.getsizeof``, plus overheads.

    Checked against ``tracemalloc`` in the tests: the charge is never below what is really held.
    """
    return RECORD_OVERHEAD + extra + sum(sys.getsizeof(part) for part in parts)


class PlacementIndex:
    """Node -> parent and entry -> page records, with a lifetime and a byte budget (LRU eviction).

    ``ttl <= 0`` keeps nothing (caching is off); callers then place within one request only.
    """

    def __init__(self, ttl: float, max_bytes: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.max_bytes = max_bytes
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, object, int]] = OrderedDict()
        self._bytes = 0

    @property
    def bytes_used(self) -> int:
        """The estimated size of what is held, in bytes (always <= ``max_bytes``)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    # --- the generic store ----------------------------------------------------------------------

    def _get(self, key: Hashable) -> object | None:
        found = self._items.get(key)
        if found is None:
            return None
        expires, value, cost = found
        if self._clock() >= expires:
            del self._items[key]
            self._bytes -= cost
            return None
        self._items.move_to_end(key)
        return value

    def _put(self, key: Hashable, value: object, cost: int) -> None:
        if self.ttl <= 0 or cost > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old[2]
        self._items[key] = (self._clock() + self.ttl, value, cost)
        self._bytes += cost
        while self._bytes > self.max_bytes:
            _, (_, _, dropped) = self._items.popitem(last=False)
            self._bytes -= dropped

    def _drop(self, key: Hashable) -> None:
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old[2]

    def clear(self) -> None:
        self._items.clear()
        self._bytes = 0

    # --- nodes ------------------------------------------------------------------------------------

    def add_node(self, nbid: str, node: TreeNode, parent_id: str) -> None:
        """Record that ``node`` sits in folder ``parent_id`` (as a listing or ``get_node`` said)."""
        self._drop(("unknown", nbid, node.tree_id))
        cost = _cost(node.tree_id, node.display_text, parent_id, extra=NODE_OVERHEAD)
        self._put(("node", nbid, node.tree_id), Placed(node, parent_id), cost)

    def add_level(self, nbid: str, parent_id: str, level: Iterable[TreeNode]) -> tuple[TreeNode, ...]:
        """Record a whole folder listing; the readable children are remembered as the folder's content."""
        readable = tuple(node for node in level if node.user_access.can_read)
        for node in readable:
            self.add_node(nbid, node, parent_id)
        ids = tuple(node.tree_id for node in readable)
        self._put(("level", nbid, parent_id), ids, _cost(parent_id, *ids, extra=SLOT_BYTES * len(ids)))
        return readable

    def node(self, nbid: str, tree_id: str) -> Placed | None:
        found = self._get(("node", nbid, tree_id))
        return found if isinstance(found, Placed) else None

    def level(self, nbid: str, parent_id: str) -> tuple[TreeNode, ...] | None:
        """The readable children of a folder, if its listing (and every child's record) is held."""
        ids = self._get(("level", nbid, parent_id))
        if not isinstance(ids, tuple):
            return None
        nodes = []
        for tree_id in ids:
            placed = self.node(nbid, tree_id)
            if placed is None or placed.parent_id != parent_id:
                return None
            nodes.append(placed.node)
        return tuple(nodes)

    def chain(self, nbid: str, tree_id: str, stop: str = ROOT_TREE_ID) -> list[Placed] | None:
        """``tree_id`` and its folders upwards until the one whose parent is ``stop`` (or the top).

        None unless every link is held. The list starts with the node itself; the last element's
        parent is ``stop`` or ``0`` (the caller tells which one it needs).
        """
        out: list[Placed] = []
        current = tree_id
        for _ in range(MAX_CHAIN):
            placed = self.node(nbid, current)
            if placed is None:
                return None
            out.append(placed)
            if placed.parent_id in (stop, ROOT_TREE_ID):
                return out
            current = placed.parent_id
        return None

    def known_nodes(self, nbid: str) -> Iterator[Placed]:
        """Every live node record of a notebook (oldest first); expiry is checked on the way."""
        keys = [key for key in self._items if isinstance(key, tuple) and key[:2] == ("node", nbid)]
        for key in keys:
            found = self._get(key)
            if isinstance(found, Placed):
                yield found

    # --- unknown ids --------------------------------------------------------------------------------

    def add_unknown(self, nbid: str, tree_id: str) -> None:
        """Remember an id LabArchives does not know (or that lies outside the scope)."""
        self._put(("unknown", nbid, tree_id), True, _cost(tree_id))

    def is_unknown(self, nbid: str, tree_id: str) -> bool:
        return self._get(("unknown", nbid, tree_id)) is True

    # --- entries ------------------------------------------------------------------------------------

    def add_page_entries(self, nbid: str, page_id: str, eids: Iterable[str]) -> None:
        """Record that these entries are on this page (a ``get_entries_for_page`` answer said so)."""
        for eid in eids:
            self._put(("entry", nbid, eid), page_id, _cost(eid, page_id))

    def page_of(self, nbid: str, eid: str) -> str | None:
        found = self._get(("entry", nbid, eid))
        return found if isinstance(found, str) else None
