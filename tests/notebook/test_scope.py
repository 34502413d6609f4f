"""The scope fails closed: out-of-scope ids look exactly like absent ones, on every path."""

from collections import Counter
from dataclasses import dataclass, field

import pytest
import trio

from labmcp.config import ScopeSettings
from labmcp.errors import ConfigError, NotFoundError, PermissionDeniedError, ResourceMissingError
from labmcp.labarchives.models import (
    Download,
    NodeDetails,
    NotebookRef,
    PageEntries,
    SearchResults,
    TreeNode,
    UserAccess,
)
from labmcp.notebook.placement import PlacementIndex
from labmcp.notebook.scope import resolve_scope

NB1 = NotebookRef("nb1", "Lab A", True)
NB2 = NotebookRef("nb2", "Lab B")


def folder(tid: str, name: str) -> TreeNode:
    return TreeNode(tid, name, False)


def page(tid: str, name: str, readable: bool = True) -> TreeNode:
    return TreeNode(tid, name, True, UserAccess(can_read=readable))


@dataclass
class TreeSource:
    """An in-memory LabArchives tree: the smallest real implementation of the Source protocol.

    ``parents`` picks the ``get_node`` layout: with the parent's id (as our fake serves by default)
    or without (§6.3 leaves it open). ``calls`` counts every call, by method.
    """

    levels: dict[tuple[str, str], tuple[TreeNode, ...]] = field(default_factory=dict)
    parents: bool = True
    sloppy: bool = False
    """``get_node`` ignores ``nbid`` (a careless upstream): scope must still hold."""
    calls: Counter[str] = field(default_factory=Counter)

    async def notebooks(self) -> tuple[NotebookRef, ...]:
        return (NB1, NB2)

    async def get_tree_level(self, nbid: str, parent_tree_id: str = "0") -> tuple[TreeNode, ...]:
        self.calls["get_tree_level"] += 1
        return self.levels.get((nbid, parent_tree_id), ())

    async def get_node(self, nbid: str, tree_id: str) -> NodeDetails:
        self.calls["get_node"] += 1
        for (nb, parent), nodes in self.levels.items():
            for node in nodes:
                if (nb == nbid or self.sloppy) and node.tree_id == tree_id:
                    if not node.user_access.can_read:
                        raise PermissionDeniedError("no", code=4501)
                    return NodeDetails(node, parent if self.parents else None)
        raise ResourceMissingError("no such node", code=4517)

    async def get_entries_for_page(self, nbid, page_tree_id, entry_data=True, comment_data=False) -> PageEntries:
        self.calls["get_entries_for_page"] += 1
        return PageEntries((), 0)

    async def entry_attachment(self, eid: str, max_bytes: int) -> Download:
        raise AssertionError("not used")

    async def entry_thumb(self, eid: str, max_bytes: int) -> Download:
        raise AssertionError("not used")

    async def entry_search(self, query, nbid=None, page_size=10, page_number=0, entry_data=True) -> SearchResults:
        return SearchResults((), 0, 0)


def tree(parents: bool = True) -> TreeSource:
    return TreeSource(
        {
            ("nb1", "0"): (folder("f1", "Projects"), folder("f2", "Admin"), page("p0", "Welcome")),
            ("nb1", "f1"): (folder("f11", "Cells"), page("p1", "Plan")),
            ("nb1", "f11"): (page("p2", "Passage 12"), page("hidden", "Secret", readable=False)),
            ("nb1", "f2"): (page("p3", "Budget"), folder("f21", "Cells")),
            ("nb1", "f21"): (page("p4", "Passage 12"),),
            ("nb2", "0"): (page("q1", "Other lab"),),
        },
        parents,
    )


async def test_unrestricted_scope_sees_every_notebook() -> None:
    scope = await resolve_scope(tree(), ScopeSettings())
    assert [nb.id for nb in scope.notebooks] == ["nb1", "nb2"]
    located = await scope.locate("nb1", "p2", kind="page")
    assert located.folder_path == "Projects/Cells"


async def test_notebook_scope_hides_other_notebooks_like_missing_ones() -> None:
    scope = await resolve_scope(tree(), ScopeSettings(notebook_name="lab a"))
    with pytest.raises(NotFoundError) as outside:
        scope.notebook("nb2")
    with pytest.raises(NotFoundError) as missing:
        scope.notebook("nb9")
    assert str(outside.value).replace("nb2", "X") == str(missing.value).replace("nb9", "X")


async def test_folder_scope_allows_only_its_subtree() -> None:
    scope = await resolve_scope(tree(), ScopeSettings(notebook_id="nb1", folder_path="Projects"))
    assert (await scope.locate("nb1", "p2", kind="page")).path == ("Projects", "Cells", "Passage 12")
    for outside in ("p0", "p3", "p4", "f2"):
        with pytest.raises(NotFoundError):
            await scope.locate("nb1", outside, kind="page")
    with pytest.raises(NotFoundError):
        await scope.folder_start("nb1", "0")
    assert await scope.folder_start("nb1", None) == ("f1", ("Projects",))


async def test_unreadable_nodes_are_absent() -> None:
    scope = await resolve_scope(tree(), ScopeSettings())
    with pytest.raises(NotFoundError):
        await scope.locate("nb1", "hidden", kind="page")


async def test_kind_must_match() -> None:
    scope = await resolve_scope(tree(), ScopeSettings())
    with pytest.raises(NotFoundError, match="page 'f1' not found"):
        await scope.locate("nb1", "f1", kind="page")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ScopeSettings(notebook_id="nope"), "LABARCHIVES_NOTEBOOK_ID"),
        (ScopeSettings(notebook_name="Lab C"), "LABARCHIVES_NOTEBOOK_NAME"),
        (ScopeSettings(notebook_id="nb1", folder_path="Projects/Nope"), "does not exist"),
        (ScopeSettings(notebook_id="nb1", folder_path="Welcome"), "does not exist"),
    ],
)
async def test_unresolvable_scope_stops_the_server(settings: ScopeSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        await resolve_scope(tree(), settings)


LAYOUTS = pytest.mark.parametrize("parents", [True, False], ids=["get_node-with-parent", "get_node-without-parent"])


@LAYOUTS
async def test_both_get_node_layouts_place_the_same_way(parents: bool) -> None:
    scope = await resolve_scope(tree(parents), ScopeSettings(notebook_id="nb1", folder_path="Projects"))
    assert (await scope.locate("nb1", "p2", kind="page")).path == ("Projects", "Cells", "Passage 12")
    for outside in ("p0", "p3", "p4", "q1", "nope"):
        with pytest.raises(NotFoundError):
            await scope.locate("nb1", outside, kind="page")


async def test_with_parents_a_cold_page_costs_one_get_node_per_level_below_the_top() -> None:
    source = tree()
    scope = await resolve_scope(source, ScopeSettings())
    source.calls.clear()
    located = await scope.locate("nb1", "p2", kind="page")
    assert located.folder_path == "Projects/Cells"
    # The top-level listing (the anchor), then the page and Cells; Projects is in that listing.
    assert source.calls == Counter(get_tree_level=1, get_node=2)


async def test_a_page_once_placed_is_never_walked_again_while_cached() -> None:
    for parents in (True, False):
        source = tree(parents)
        scope = await resolve_scope(source, ScopeSettings())
        await scope.locate("nb1", "p4", kind="page")
        source.calls.clear()
        assert (await scope.locate("nb1", "p4", kind="page")).folder_path == "Admin/Cells"
        assert (await scope.locate("nb1", "p3", kind="page")).folder_path == "Admin"
        assert sum(source.calls.values()) == (1 if parents else 0)  # p3: its parent Admin is already placed


@LAYOUTS
async def test_unknown_ids_are_remembered_as_unknown(parents: bool) -> None:
    source = tree(parents)
    scope = await resolve_scope(source, ScopeSettings(notebook_id="nb1", folder_path="Projects"))
    for ident in ("nope", "p3"):  # absent, and present but outside the scope
        with pytest.raises(NotFoundError):
            await scope.locate("nb1", ident, kind="page")
        source.calls.clear()
        with pytest.raises(NotFoundError):
            await scope.locate("nb1", ident, kind="page")
        assert not source.calls, ident


async def test_without_parents_the_downward_search_resumes_instead_of_walking_again() -> None:
    source = tree(parents=False)
    scope = await resolve_scope(source, ScopeSettings())
    await scope.locate("nb1", "p2", kind="page")  # lists the top, Projects, Admin, Cells (BFS order)
    listed = source.calls["get_tree_level"]
    source.calls.clear()
    await scope.locate("nb1", "p4", kind="page")  # Admin/Cells: only that one folder is new
    # The page's entries are read first (a read needs them anyway); this page has none to search by.
    assert source.calls == Counter(get_node=1, get_entries_for_page=1, get_tree_level=1)
    assert listed <= 4


async def test_completion_answers_from_the_index_plus_one_level() -> None:
    source = tree()
    scope = await resolve_scope(source, ScopeSettings())
    source.calls.clear()
    first = await scope.known_in_scope("nb1", pages=True)
    assert dict(first) == {"p0": "Welcome"} and source.calls == Counter(get_tree_level=1)
    second = await scope.known_in_scope("nb1", pages=True)
    assert dict(second) == {"p0": "Welcome", "p1": "Plan"} and source.calls == Counter(get_tree_level=2)


async def test_a_placed_page_moved_out_of_the_scope_is_not_found_once_the_index_expires(
    autojump_clock: object,
) -> None:
    """Fail closed: placements last as long as the cache (they are never trusted forever)."""
    source = tree()
    index = PlacementIndex(60.0, 1 << 20, trio.current_time)
    scope = await resolve_scope(source, ScopeSettings(notebook_id="nb1", folder_path="Projects"), index)
    await scope.locate("nb1", "p2", kind="page")
    source.levels[("nb1", "f11")] = ()
    source.levels[("nb1", "f2")] = (page("p2", "Passage 12"),)
    await trio.sleep(61)
    with pytest.raises(NotFoundError):
        await scope.locate("nb1", "p2", kind="page")


async def test_the_index_stays_within_its_byte_budget() -> None:
    index = PlacementIndex(60.0, 20_000, trio.current_time)
    for n in range(1_000):
        index.add_node("nb1", page(f"p{n}", f"Page {n}" * 5), "0")
        index.add_page_entries("nb1", f"p{n}", [f"e{n}a", f"e{n}b"])
        assert index.bytes_used <= 20_000
    assert index.node("nb1", "p999") is not None and index.node("nb1", "p0") is None


def test_the_byte_charge_is_not_below_what_the_index_really_holds() -> None:
    """tracemalloc (an independent count) against the index's own charge, for nodes, listings and entries."""
    import tracemalloc  # noqa: PLC0415  # only this test traces allocations

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = PlacementIndex(60.0, 1 << 30, lambda: 0.0)
        for f in range(100):
            kids = [page(f"TreeNode-{f:04d}-{n:02d}-" + "x" * 40, f"Page {f}.{n} — Ünïcode") for n in range(20)]
            index.add_level("nb1", f"Folder-{f:04d}", kids)
            index.add_page_entries("nb1", kids[0].tree_id, [f"EntryPart-{f}-{n}-" + "y" * 40 for n in range(10)])
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held <= index.bytes_used, (held, index.bytes_used)


async def test_a_get_node_that_ignores_the_notebook_cannot_carry_another_notebook_in() -> None:
    source = tree()
    source.sloppy = True
    source.levels[("nb2", "0")] = (folder("g1", "Elsewhere"), page("q1", "Other lab"))
    source.levels[("nb2", "g1")] = (page("q2", "Deep elsewhere"),)
    scope = await resolve_scope(source, ScopeSettings(notebook_id="nb1"))
    for ident in ("q1", "q2", "g1"):
        with pytest.raises(NotFoundError):
            await scope.locate("nb1", ident, kind="folder" if ident == "g1" else "page")
    assert (await scope.locate("nb1", "p2", kind="page")).folder_path == "Projects/Cells"
