"""Look-alike names against a folder scope, through the real server and the official MCP client.

Names are not identity: a top-level page *named* ``Projects/CRISPR knock-out of TP53/Western blot — p53``
spells the same ``tree-path`` as the real page inside ``Projects``, and so do a top-level folder named
``Projects/CRISPR knock-out of TP53`` and a folder ``Projects `` (trailing space). Each holds an entry
that matches the query and carries the canary. With ``LABARCHIVES_FOLDER_PATH=Projects`` none of them
may show in search, read_page or completion, and each must answer exactly like an id that does not
exist; the real in-scope hit must be on the first page. The answer text is read back with an
independent CommonMark parser (markdown-it-py).
"""

from __future__ import annotations

from pathlib import Path

import mcp_types as types
import pytest
import trio
from markdown_it import MarkdownIt

from labmcp.fake import FakeLabArchives, demo
from labmcp.fake.store import make_id
from labmcp.labarchives.models import PART_TEXT, ROOT_TREE_ID
from labmcp.notebook import uris
from tests.adversarial.support import adversarial_env
from tests.e2e.helpers import stdio_client, structured, text_of

pytestmark = pytest.mark.slow

WORD = "zanzibarite"
REAL_PATH = ("Projects", "CRISPR knock-out of TP53", "Western blot — p53")


def _plant(fake: FakeLabArchives) -> tuple[str, str, list[str], list[str]]:
    """Look-alikes holding the word and the canary; returns (notebook, real entry, look-alike ids, their eids)."""
    store = fake.store
    nbid = next(nb.nbid for nb in store.notebooks.values() if nb.name == demo.DEFAULT_NOTEBOOK)
    real_page = next(n for n in store.nodes.values() if n.nbid == nbid and store.path_names(n) == list(REAL_PATH))
    owner = fake.credentials.uid
    real = store.add_entry(real_page.tree_id, PART_TEXT, f"<p>{WORD} in scope</p>", owner=owner, at=1_767_225_600)
    named_page = store.add_page(nbid, "/".join(REAL_PATH))
    named_folder = store.add_folder(nbid, "/".join(REAL_PATH[:2]))
    in_named_folder = store.add_page(nbid, REAL_PATH[2], named_folder.tree_id)
    spaced = store.add_folder(nbid, "CRISPR knock-out of TP53", store.add_folder(nbid, "Projects ").tree_id)
    in_spaced = store.add_page(nbid, REAL_PATH[2], spaced.tree_id)
    pages = [named_page, in_named_folder, in_spaced]
    eids = [
        store.add_entry(p.tree_id, PART_TEXT, f"<p>{WORD} {demo.CANARY}</p>", owner=owner, at=1_767_225_600).eid
        for p in pages
    ]
    assert all(store.path_names(p) != list(REAL_PATH) for p in pages)
    assert {"/".join(store.path_names(p)) for p in pages} == {"/".join(REAL_PATH)} | {
        "Projects /CRISPR knock-out of TP53/Western blot — p53"
    }
    ids = [p.tree_id for p in pages] + [named_folder.tree_id, spaced.tree_id]
    assert all(store.nodes[i].parent_id != ROOT_TREE_ID or i in ids for i in ids)
    return nbid, real.eid, ids, eids


@pytest.mark.parametrize("parents", [True, False], ids=["get_node-with-parent", "get_node-without-parent"])
async def test_look_alike_names_never_enter_a_folder_scope(
    cfake: FakeLabArchives, log_file: Path, parents: bool
) -> None:
    cfake.config.node_parent = parents
    nbid, real_eid, outside_ids, outside_eids = _plant(cfake)
    env = adversarial_env(
        cfake, log_file, LABARCHIVES_NOTEBOOK_NAME=demo.DEFAULT_NOTEBOOK, LABARCHIVES_FOLDER_PATH="Projects"
    )
    forbidden = [demo.CANARY, *outside_ids, *outside_eids]  # in search and completion answers
    nonexistent = make_id(99_992, "TreeNode")
    with trio.fail_after(120):
        async with stdio_client(env) as client:
            result = await client.call_tool("search", {"query": WORD, "limit": 50})
            found = structured(result)
            answer = text_of(result) + repr(found)
            assert [h["entry_id"] for h in found["results"]] == [real_eid]
            assert found["complete"] is True
            shown = "".join(t.content for t in MarkdownIt("commonmark").parse(text_of(result)) if t.type == "inline")
            assert real_eid in shown and "/".join(REAL_PATH[:2]) in shown
            for ident in outside_ids:
                read = await client.call_tool("read_page", {"notebook_id": nbid, "page_id": ident})
                control = await client.call_tool("read_page", {"notebook_id": nbid, "page_id": nonexistent})
                assert read.is_error and control.is_error
                assert text_of(read).replace(ident, "X") == text_of(control).replace(nonexistent, "X")
                assert demo.CANARY not in text_of(read)
                browse = await client.call_tool("browse_notebook", {"notebook_id": nbid, "folder_id": ident})
                assert browse.is_error and demo.CANARY not in text_of(browse)
            ref = types.ResourceTemplateReference(type="ref/resource", uri=uris.PAGE_TEMPLATE)
            for _ in range(4):  # each completion reaches one level further
                done = await client.complete(
                    ref, {"name": "page_id", "value": "Western"}, context_arguments={"notebook_id": nbid}
                )
                answer += repr(done.completion.values)
    for secret in forbidden:
        assert secret not in answer, secret
