"""The scope fails closed: out-of-scope ids look exactly like absent ones, on every path."""

from dataclasses import dataclass, field

import pytest

from labmcp.config import ScopeSettings
from labmcp.errors import ConfigError, NotFoundError
from labmcp.labarchives.models import (
    Download,
    NotebookRef,
    PageEntries,
    SearchResults,
    TreeNode,
    UserAccess,
)
from labmcp.notebook.scope import Scope, resolve_scope

NB1 = NotebookRef("nb1", "Lab A", True)
NB2 = NotebookRef("nb2", "Lab B")


def folder(tid: str, name: str) -> TreeNode:
    return TreeNode(tid, name, False)


def page(tid: str, name: str, readable: bool = True) -> TreeNode:
    return TreeNode(tid, name, True, UserAccess(can_read=readable))


@dataclass
class TreeSource:
    """An in-memory LabArchives tree: the smallest real implementation of the Source protocol."""

    levels: dict[tuple[str, str], tuple[TreeNode, ...]] = field(default_factory=dict)
    calls: int = 0
    unknown: set[tuple[str, ...]] = field(default_factory=set)

    async def notebooks(self) -> tuple[NotebookRef, ...]:
        return (NB1, NB2)

    async def get_tree_level(self, nbid: str, parent_tree_id: str = "0") -> tuple[TreeNode, ...]:
        self.calls += 1
        return self.levels.get((nbid, parent_tree_id), ())

    async def get_entries_for_page(self, nbid, page_tree_id, entry_data=True, comment_data=False) -> PageEntries:
        return PageEntries((), 0)

    async def entry_attachment(self, eid: str, max_bytes: int) -> Download:
        raise AssertionError("not used")

    async def entry_search(self, query, nbid=None, page_size=10, page_number=0, entry_data=True) -> SearchResults:
        return SearchResults((), 0, 0)

    def remember_unknown(self, *key: str) -> None:
        self.unknown.add(key)

    def is_unknown(self, *key: str) -> bool:
        return key in self.unknown


def tree() -> TreeSource:
    return TreeSource(
        {
            ("nb1", "0"): (folder("f1", "Projects"), folder("f2", "Admin"), page("p0", "Welcome")),
            ("nb1", "f1"): (folder("f11", "Cells"), page("p1", "Plan")),
            ("nb1", "f11"): (page("p2", "Passage 12"), page("hidden", "Secret", readable=False)),
            ("nb1", "f2"): (page("p3", "Budget"), folder("f21", "Cells")),
            ("nb1", "f21"): (page("p4", "Passage 12"),),
            ("nb2", "0"): (page("q1", "Other lab"),),
        }
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


async def test_search_hits_are_placed_by_path_and_fail_closed() -> None:
    scope = await resolve_scope(tree(), ScopeSettings(notebook_id="nb1", folder_path="Projects"))
    allowed, located = await scope.place_hit("nb1", "Projects/Cells/Passage 12")
    assert allowed and located is not None and located.node.tree_id == "p2"
    assert await scope.place_hit("nb1", "Admin/Cells/Passage 12") == (False, None)
    assert await scope.place_hit("nb2", "Other lab") == (False, None)
    assert await scope.place_hit("", "Inbox") == (False, None)
    assert await scope.place_hit("nb1", "Projects/Nowhere") == (False, None)


async def test_ambiguous_paths_are_withheld_under_a_folder_scope() -> None:
    source = tree()
    source.levels[("nb1", "0")] = (*source.levels[("nb1", "0")], folder("f9", "Projects"))
    source.levels[("nb1", "f9")] = (folder("f91", "Cells"),)
    source.levels[("nb1", "f91")] = (page("p9", "Passage 12"),)
    at_start = await resolve_scope(tree(), ScopeSettings(notebook_id="nb1", folder_path="Projects"))
    scope = Scope(source, at_start.notebooks, at_start.folder)  # a twin folder appeared after start
    assert await scope.place_hit("nb1", "Projects/Cells/Passage 12") == (False, None)


async def test_a_placed_page_is_re_proven_along_its_path_not_by_a_whole_walk() -> None:
    source = tree()
    scope = await resolve_scope(source, ScopeSettings())
    await scope.locate("nb1", "p4", kind="page")  # a full walk places every node on the way
    source.calls = 0
    located = await scope.locate("nb1", "p4", kind="page")
    assert located.folder_path == "Admin/Cells"
    assert source.calls == 3  # root, Admin, Admin/Cells: the remembered path only


async def test_a_search_hit_placement_makes_the_next_read_cheap() -> None:
    source = tree()
    scope = await resolve_scope(source, ScopeSettings())
    allowed, hit = await scope.place_hit("nb1", "Admin/Cells/Passage 12")
    assert allowed and hit is not None and hit.node.tree_id == "p4"
    source.calls = 0
    assert (await scope.locate("nb1", "p4", kind="page")).folder_path == "Admin/Cells"
    assert source.calls == 3


async def test_a_remembered_page_moved_out_of_the_scope_folder_is_not_found() -> None:
    """Fail closed: a remembered path is re-proven, never trusted."""
    source = tree()
    scope = await resolve_scope(source, ScopeSettings(notebook_id="nb1", folder_path="Projects"))
    await scope.locate("nb1", "p2", kind="page")
    source.levels[("nb1", "f11")] = ()
    source.levels[("nb1", "f2")] = (page("p2", "Passage 12"),)
    with pytest.raises(NotFoundError):
        await scope.locate("nb1", "p2", kind="page")


async def test_an_id_no_walk_found_is_remembered_and_costs_no_second_walk() -> None:
    """A made-up page id walks the tree once; asking again costs no call until the cache forgets."""
    source = tree()
    scope = await resolve_scope(source, ScopeSettings())
    with pytest.raises(NotFoundError):
        await scope.locate("nb1", "made-up", kind="page")
    first = source.calls
    assert first >= 4
    with pytest.raises(NotFoundError):
        await scope.locate("nb1", "made-up", kind="page")
    assert source.calls == first
