"""recent_changes and the changes resource, against the fake's modified_since while the lab is edited.

The fake's store is edited in the test (as a colleague would in the web UI) while the real server
process runs; what comes back is judged by the official SDK client's view of the answer.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import trio

from labmcp.fake import demo
from labmcp.notebook import uris
from tests.e2e.helpers import server_env, stdio_client, structured, text_of

pytestmark = pytest.mark.slow


def _entry_on(fake: Any, page_name: str) -> str:
    store = fake.store
    page = next(n for n in store.nodes.values() if n.is_page and n.display_text == page_name)
    return next(e.eid for e in store.page_entries(page.tree_id))


async def test_an_edit_shows_in_recent_changes_in_scope_only(fake: Any) -> None:
    inside = _entry_on(fake, "Western blot — p53")
    outside = _entry_on(fake, "Retired samples")  # Archive (old): outside the Projects scope
    now = int(time.time())
    fake.store.edit_entry(inside, "<p>Re-quantified: p21 reduced 85 %</p>", by=demo.UID, at=now)
    fake.store.edit_entry(outside, f"Disposal confirmed ({demo.CANARY})", by=demo.UID, at=now)
    env = server_env(fake, LABARCHIVES_NOTEBOOK_NAME=demo.DEFAULT_NOTEBOOK, LABARCHIVES_FOLDER_PATH="Projects")
    with trio.fail_after(60):
        async with stdio_client(env) as client:
            data = structured(await client.call_tool("recent_changes", {"since": "1h"}))
            text = text_of(await client.call_tool("recent_changes", {"since": "1h"}))
            read = await client.read_resource(uris.changes_uri("1h"))
            old = structured(await client.call_tool("recent_changes", {"since": "2020-01-01"}))
            bad = await client.call_tool("recent_changes", {"since": "last tuesday"})
    (page,) = data["pages"]
    assert page["page_title"] == "Western blot — p53" and page["folder_path"].startswith("Projects")
    assert [c["entry_id"] for c in page["changes"]] == [inside]
    assert page["changes"][0]["author"] and "85" in page["changes"][0]["snippet"]
    assert outside not in text and demo.CANARY not in text
    body = read.contents[0].text  # type: ignore[union-attr]
    assert "Western blot — p53" in body and demo.CANARY not in body
    assert len(old["pages"]) > 1 and all(p["folder_path"].startswith("Projects") for p in old["pages"])
    assert bad.is_error and "relative time" in text_of(bad)
