"""Calls per answer on a lab of 5,460 pages in 1,092 folders, counted in the fake's own request log.

Each answer starts cold: a fresh client (empty caches) and a fresh scope. The count is the fake's,
not ours: every HTTP request the fake served during the answer, minus nothing.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, Literal
from urllib.parse import quote

import pytest
import trio
from markdown_it import MarkdownIt

from labmcp.config import OutputSettings, ScopeSettings
from labmcp.errors import InvalidArgumentError, NotFoundError
from labmcp.labarchives.client import open_client
from labmcp.labarchives.models import ROOT_TREE_ID
from labmcp.labarchives.quota import request_scope
from labmcp.notebook.links import Links
from labmcp.notebook.placement import PlacementIndex
from labmcp.notebook.scope import resolve_scope
from labmcp.notebook.service import NotebookService
from labmcp.observe import NullObserver
from tests import biglab
from tests.conftest import client_settings

LAYOUTS = pytest.mark.parametrize("parents", [True, False], ids=["get_node-with-parent", "get_node-without-parent"])


@pytest.fixture(scope="module")
def lab_template() -> Iterator[biglab.BigLab]:
    yield biglab.build(time.time_ns() // 1_000_000)


@pytest.fixture
async def lab(lab_template: biglab.BigLab, nursery: trio.Nursery) -> AsyncIterator[biglab.BigLab]:
    """The big lab served on loopback; the store is shared by the module's tests (read-only there)."""
    lab_template.fake.config.node_parent = True
    lab_template.fake.config.entry_url = "labapi"
    lab_template.fake.log.clear()
    await nursery.start(lab_template.fake.serve)
    yield lab_template


@asynccontextmanager
async def service(lab: biglab.BigLab, max_calls: int = 100, **scope: Any) -> AsyncIterator[NotebookService]:
    """A cold service against the lab: new client (empty caches), new placement index."""
    settings = client_settings(lab.fake, uid=biglab.UID, user=None, token=None, max_calls_per_request=max_calls)
    async with open_client(settings, NullObserver()) as client:
        await client.start()
        index = PlacementIndex(settings.cache_ttl, 8 * 1024 * 1024, trio.current_time)
        resolved = await resolve_scope(client, ScopeSettings(**scope), index)
        yield NotebookService(client, resolved, OutputSettings(), Links("https://mynotebook.labarchives.com"), 1 << 20)


class Calls:
    """LabArchives calls the fake served since the last ``mark``."""

    def __init__(self, lab: biglab.BigLab) -> None:
        self._log = lab.fake.log
        self._mark = len(self._log)

    def mark(self) -> None:
        self._mark = len(self._log)

    @property
    def methods(self) -> Counter[str]:
        return Counter(r.api_method for r in self._log[self._mark :])

    def __int__(self) -> int:
        return len(self._log) - self._mark


def test_the_lab_is_big_enough(lab_template: biglab.BigLab) -> None:
    assert len(lab_template.pages) >= 5_000 and len(lab_template.folders) >= 1_000
    assert lab_template.depth(lab_template.deepest_pages()[0]) >= 6


@LAYOUTS
async def test_cold_read_page_costs_at_most_two_plus_depth(lab: biglab.BigLab, parents: bool) -> None:
    lab.fake.config.node_parent = parents
    deep = lab.deepest_pages()
    pages = (deep[0], deep[len(deep) // 2], deep[-1], lab.pages[-1])
    for page in pages:
        depth = lab.depth(page)
        async with service(lab) as svc:
            calls = Calls(lab)
            answer = await svc.read_page(lab.nbid, page.tree_id)
            assert answer.structured["folder_path"] == "/".join(lab.store.path_names(page)[:-1])
            if parents:
                assert int(calls) <= 2 + depth, calls.methods
            else:
                # No parent in get_node: one get_node (does the id exist?), the page's entries, one or
                # two searches for words of them whose hit's tree-path names the folders, and a
                # listing of the top and of each folder on that path.
                assert calls.methods["get_node"] == 1 and calls.methods["get_entries_for_page"] == 1
                assert calls.methods["entry_search"] <= 2
                assert calls.methods["get_tree_level"] <= depth + 1, calls.methods
                assert int(calls) <= 5 + depth, calls.methods


async def test_cold_read_page_under_a_folder_scope_costs_at_most_two_plus_depth(lab: biglab.BigLab) -> None:
    top = lab.top("Folder 0001")
    inside = [p for p in lab.deepest_pages() if lab.store.path_names(p)[0] == top.display_text]
    outside = [p for p in lab.deepest_pages() if lab.store.path_names(p)[0] != top.display_text]
    async with service(lab, notebook_id=lab.nbid, folder_path=top.display_text) as svc:
        for page in (inside[0], inside[-1]):
            calls = Calls(lab)
            answer = await svc.read_page(lab.nbid, page.tree_id)
            assert answer.structured["folder_path"] == "/".join(lab.store.path_names(page)[:-1])
            assert int(calls) <= 2 + lab.depth(page), calls.methods
        calls.mark()
        with pytest.raises(NotFoundError):
            await svc.read_page(lab.nbid, outside[0].tree_id)
        assert calls.methods["get_entries_for_page"] == 0  # an outside page is never read
        assert int(calls) <= 1 + lab.depth(outside[0])


@LAYOUTS
async def test_placed_pages_are_never_walked_again_and_unknown_ids_are_remembered(
    lab: biglab.BigLab, parents: bool
) -> None:
    lab.fake.config.node_parent = parents
    page = lab.deepest_pages()[7]
    sibling = next(p for p in lab.pages if p.parent_id == page.parent_id and p is not page)
    async with service(lab) as svc:
        await svc.read_page(lab.nbid, page.tree_id)
        calls = Calls(lab)
        await svc.read_page(lab.nbid, page.tree_id)
        assert int(calls) == 0
        await svc.read_page(lab.nbid, sibling.tree_id)
        # The sibling's folder is placed: get_node for the page (with parents) and its entries.
        assert int(calls) <= 2, calls.methods
        for attempt in range(2):
            calls.mark()
            with pytest.raises(NotFoundError):
                await svc.read_page(lab.nbid, "bm90LWEtcGFnZQ==")
            assert int(calls) == (1 if attempt == 0 else 0)


async def test_completion_costs_at_most_one_call_and_matches_names_containing_the_text(lab: biglab.BigLab) -> None:
    async with service(lab) as svc:
        await svc.browse(lab.nbid)
        calls = Calls(lab)
        for _ in range(3):
            calls.mark()
            found = await svc.complete_nodes(lab.nbid, "0001", pages=False)
            assert int(calls) <= 1
        names = {lab.store.nodes[i].display_text for i in found}
        assert "Folder 0001" in names and any(n.startswith("Folder 0000.") or "0001" in n for n in names)
        # "contains", not only "starts with": the top folders' children are named "Folder 0001.2" etc.
        pages = await svc.complete_nodes(lab.nbid, "age 0", pages=True)
        assert pages and all("age 0" in lab.store.nodes[i].display_text for i in pages)


@pytest.mark.parametrize("shape", ["labapi", "nexus"])
async def test_cold_search_over_a_whole_notebook_costs_one_call_plus_one_per_page(
    lab: biglab.BigLab, shape: Literal["labapi", "nexus"]
) -> None:
    lab.fake.config.entry_url = shape  # the two page-link shapes §6.8 names
    word = f"zeolite{shape}"  # the store is shared by the module's tests: a word of its own
    pages = lab.deepest_pages()[:50:5]  # ten deep pages
    eids = lab.add_word(pages, word)
    async with service(lab) as svc:
        calls = Calls(lab)
        answer = await svc.search(word, limit=50)
        assert [h["entry_id"] for h in answer.structured["results"]] == eids
        assert answer.structured["complete"]
        assert calls.methods == Counter(entry_search=1, get_entries_for_page=len(pages))
        for hit, page in zip(answer.structured["results"], pages, strict=True):
            assert hit["page_id"] == page.tree_id
            assert hit["folder_path"] == "/".join(lab.store.path_names(page)[:-1])
        calls.mark()
        await svc.search(word, limit=50)
        assert int(calls) == 0
        for page in pages:
            calls.mark()
            await svc.read_page(lab.nbid, page.tree_id)
            assert calls.methods["get_entries_for_page"] == 0  # search read the page already
            assert int(calls) <= 1 + lab.depth(page)


async def test_an_entry_url_that_names_no_page_falls_back_to_the_tree_path(lab: biglab.BigLab) -> None:
    lab.fake.config.entry_url = "opaque"
    pages = lab.deepest_pages()[:50:5]
    eids = lab.add_word(pages, "gneiss")
    folders_on_paths = {f for p in pages for f in lab.folder_ids_above(p)}
    async with service(lab) as svc:
        calls = Calls(lab)
        answer = await svc.search("gneiss", limit=50)
        assert [h["entry_id"] for h in answer.structured["results"]] == eids
        assert [h["page_id"] for h in answer.structured["results"]] == [p.tree_id for p in pages]
        assert calls.methods["entry_search"] == 1
        assert calls.methods["get_entries_for_page"] == len(pages)
        assert calls.methods["get_tree_level"] <= len(folders_on_paths) + 1  # + the notebook's top level


async def test_cold_search_under_a_folder_scope_lists_each_folder_on_the_hits_paths_once(lab: biglab.BigLab) -> None:
    top = lab.top("Folder 0000")
    pages = [p for p in lab.deepest_pages() if lab.store.path_names(p)[0] == top.display_text][:60:6]
    lab.add_word(pages, "basalt")
    folders_on_paths = {f for p in pages for f in lab.folder_ids_above(p)} - {top.tree_id}
    async with service(lab, notebook_id=lab.nbid, folder_path=top.display_text) as svc:
        calls = Calls(lab)
        answer = await svc.search("basalt", limit=50)
        assert len(answer.structured["results"]) == len(pages) and answer.structured["complete"]
        assert calls.methods["entry_search"] == 1
        assert calls.methods["get_entries_for_page"] == len(pages)
        assert calls.methods["get_tree_level"] <= len(folders_on_paths) + 1  # + the scope folder itself
        for hit in answer.structured["results"]:
            calls.mark()
            await svc.read_page(hit["notebook_id"], hit["page_id"])
            assert int(calls) == 0  # search placed the page by ids and read its entries


async def test_search_over_placed_folders_costs_one_call_plus_one_per_page(lab: biglab.BigLab) -> None:
    top = lab.top("Folder 0000")
    pages = [p for p in lab.deepest_pages() if lab.store.path_names(p)[0] == top.display_text][100:130:3]
    lab.add_word(pages, "quokka")
    async with service(lab, notebook_id=lab.nbid, folder_path=top.display_text) as svc:
        for page in pages:  # place the folders (a browse or earlier answers would do the same)
            await svc.scope.locate(lab.nbid, page.parent_id, kind="folder")
            await svc.browse(lab.nbid, page.parent_id)
        calls = Calls(lab)
        answer = await svc.search("quokka", limit=50)
        assert len(answer.structured["results"]) == len(pages)
        assert int(calls) <= 1 + len(pages), calls.methods


async def test_hits_after_ten_pages_of_out_of_scope_matches_come_first(lab: biglab.BigLab) -> None:
    """Issue 14: "0 result(s)" on pages 0-10 while the folder's two hits sat on page 11."""
    scope_top = lab.top("Folder 0004")
    outside = [p for p in lab.pages if lab.store.path_names(p)[0] != scope_top.display_text][:110]
    inside = [p for p in lab.pages if lab.store.path_names(p)[0] == scope_top.display_text][-2:]
    lab.add_word(outside, "ocelot")
    wanted = lab.add_word(inside, "ocelot")
    async with service(lab, notebook_id=lab.nbid, folder_path=scope_top.display_text) as svc:
        answer = await svc.search("ocelot")
        assert [h["entry_id"] for h in answer.structured["results"]] == wanted
        assert answer.structured["complete"] and answer.structured["next_cursor"] is None
        assert "2 result(s)" in answer.markdown and "no more results" in answer.markdown


async def test_a_fifty_hit_search_lists_all_fifty_in_its_text(lab: biglab.BigLab) -> None:
    pages = lab.pages[2000:2060]
    long_text = "OD600 " + " ".join(f"reading{n} 0.{n:03d}" for n in range(300))
    eids = lab.add_word(pages, "wombat", long_text)
    async with service(lab) as svc:
        answer = await svc.search("wombat", limit=50)
        results = answer.structured["results"]
        assert len(results) == 50
        assert len(answer.markdown) <= svc.content_limit
        tokens = MarkdownIt("commonmark").parse(answer.markdown)
        shown = "".join(t.content for t in tokens if t.type == "inline")
        for hit in results:
            assert hit["entry_id"] in shown and hit["page_id"] in shown
            assert hit["snippet"] in shown or hit["snippet"].rstrip("…") in shown
        assert [h["entry_id"] for h in results] == eids[:50]
        assert not answer.structured["complete"] and answer.structured["next_cursor"]
        cursor = re.search(r'cursor="([^"]+)"', answer.markdown)
        assert cursor is not None and cursor.group(1) == answer.structured["next_cursor"]
        rest = await svc.search("wombat", limit=50, cursor=cursor.group(1))
        assert [h["entry_id"] for h in rest.structured["results"]] == eids[50:]
        assert rest.structured["complete"]


async def test_names_with_slashes_and_look_alike_paths_never_leak(lab: biglab.BigLab) -> None:
    """A top-level page *named* ``Protocols/Bradford assay`` is not inside the folder ``Protocols``."""
    store, nbid = lab.store, lab.nbid
    protocols = store.add_folder(nbid, "Protocols")
    inside = store.add_page(nbid, "Bradford assay", protocols.tree_id)
    look_alike = store.add_page(nbid, "Protocols/Bradford assay")
    projects = store.add_folder(nbid, "Projects")
    alpha = store.add_folder(nbid, "Alpha", projects.tree_id)
    alpha_page = store.add_page(nbid, "Plan", alpha.tree_id)
    fake_alpha = store.add_folder(nbid, "Projects/Alpha")
    fake_alpha_page = store.add_page(nbid, "Plan", fake_alpha.tree_id)
    nested_fake = store.add_folder(nbid, "Alpha", store.add_folder(nbid, "Projects ").tree_id)
    nested_page = store.add_page(nbid, "Plan", nested_fake.tree_id)
    good = lab.add_word([inside, alpha_page], "bradfordish")
    bad = lab.add_word([look_alike, fake_alpha_page, nested_page], "bradfordish", "LEAKED-CANARY")
    for scope_path, wanted in (("Protocols", good[:1]), ("Projects/Alpha", good[1:])):
        async with service(lab, notebook_id=nbid, folder_path=scope_path) as svc:
            answer = await svc.search("bradfordish", limit=50)
            shown = answer.markdown + repr(answer.structured)
            assert [h["entry_id"] for h in answer.structured["results"]] == wanted
            assert "LEAKED-CANARY" not in shown
            for eid in bad:
                assert eid not in shown
            for node in (look_alike, fake_alpha, fake_alpha_page, nested_page):
                assert node.tree_id not in shown
                with pytest.raises(NotFoundError):
                    await svc.read_page(nbid, node.tree_id)


async def test_a_withheld_hit_costs_what_a_miss_costs(lab: biglab.BigLab) -> None:
    """Under a folder scope, a match outside it costs the one entry_search a miss costs."""
    scope_top = lab.top("Folder 0005")
    outside = next(p for p in lab.pages if lab.store.path_names(p)[0] != scope_top.display_text)
    lab.add_word([outside], "pangolin")
    async with service(lab, notebook_id=lab.nbid, folder_path=scope_top.display_text) as svc:
        calls = Calls(lab)
        withheld = await svc.search("pangolin")
        withheld_calls = calls.methods
        calls.mark()
        miss = await svc.search("nothingmatchesthis")
        assert withheld_calls == calls.methods == Counter(entry_search=1)
        assert withheld.structured["results"] == miss.structured["results"] == []
        assert withheld.markdown.replace("pangolin", "Q") == miss.markdown.replace("nothingmatchesthis", "Q")


async def test_without_parents_reads_never_repeat_a_walk(lab: biglab.BigLab) -> None:
    """The placement index grows across answers: reading many pages lists each folder at most once."""
    lab.fake.config.node_parent = False
    async with service(lab) as svc:
        calls = Calls(lab)
        for page in lab.pages[::500]:
            await svc.read_page(lab.nbid, page.tree_id)
        assert calls.methods["get_tree_level"] <= len(lab.folders) + 1
        listed = [r.params.get("parent_tree_id") for r in lab.fake.log if r.api_method == "get_tree_level"]
        assert len(listed) == len(set(listed)) or ROOT_TREE_ID in listed


async def test_page_n_and_the_cursor_continue_at_the_same_hit(lab: biglab.BigLab) -> None:
    top = lab.top("Folder 0003")
    inside = [p for p in lab.pages if lab.store.path_names(p)[0] == top.display_text][:25]
    outside = [p for p in lab.pages if lab.store.path_names(p)[0] != top.display_text][:40]
    mixed = [page for pair in zip(outside[::2], outside[1::2], inside, strict=False) for page in pair]
    eids = lab.add_word(mixed, "kinkajou")
    wanted = [eid for eid, page in zip(eids, mixed, strict=True) if page in inside]
    async with service(lab, notebook_id=lab.nbid, folder_path=top.display_text) as svc:
        first = await svc.search("kinkajou", limit=7)
        by_cursor = await svc.search("kinkajou", limit=7, cursor=first.structured["next_cursor"])
        by_page = await svc.search("kinkajou", limit=7, page=1)
        ids = [h["entry_id"] for h in first.structured["results"] + by_cursor.structured["results"]]
        assert ids == wanted[:14]
        assert by_page.structured["results"] == by_cursor.structured["results"]
        with pytest.raises(InvalidArgumentError):
            await svc.search("other query", limit=7, cursor=first.structured["next_cursor"])


async def test_an_upstream_entry_url_is_never_printed(lab: biglab.BigLab) -> None:
    """Issue 14: a `javascript:` entry-url was printed as the search link; links are ours now."""
    page = lab.pages[4321]
    lab.add_word([page], "marmoset")
    saved = lab.store.web_url
    lab.store.web_url = "javascript:alert(document.domain)//"
    try:
        async with service(lab) as svc:
            answer = await svc.search("marmoset")
            (hit,) = answer.structured["results"]
            assert hit["page_id"] == page.tree_id
            assert (
                hit["link"]
                == f"https://mynotebook.labarchives.com/{quote(lab.nbid, safe='')}/page/{quote(page.tree_id, safe='')}"
            )
            assert "javascript" not in answer.markdown.lower() and "javascript" not in repr(answer.structured).lower()
    finally:
        lab.store.web_url = saved


async def test_a_search_at_the_per_request_call_limit_answers_with_what_it_proved(lab: biglab.BigLab) -> None:
    """LABARCHIVES_MAX_CALLS_PER_REQUEST stops an answer, not the search: the cursor goes on from there."""
    top = lab.top("Folder 0000")
    pages = [p for p in lab.deepest_pages() if lab.store.path_names(p)[0] == top.display_text][::40][:6]
    eids = lab.add_word(pages, "tamarin")
    async with service(lab, max_calls=12, notebook_id=lab.nbid, folder_path=top.display_text) as svc:
        shown: list[str] = []
        cursor = None
        for answers in range(1, 11):  # noqa: B007  # counted: the limit must have cut at least one answer
            calls = Calls(lab)
            with request_scope():
                answer = await svc.search("tamarin", limit=50, cursor=cursor)
            assert int(calls) <= 12
            shown += [h["entry_id"] for h in answer.structured["results"]]
            cursor = answer.structured["next_cursor"]
            if answer.structured["complete"]:
                break
        assert shown == eids and cursor is None
        assert answers > 1
