"""Resource subscriptions: an edit made in the fake while the server runs reaches a subscribed client.

The official SDK client subscribes over stdio (handshake era); its message handler is the judge of
what the server sent. Waits are for events (a notification arriving), bounded generously, never a
fixed sleep: a slow machine only makes them take longer.
"""

from __future__ import annotations

import time
from typing import Any

import mcp_types as types
import pytest
import trio
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from labmcp.fake import demo
from labmcp.notebook import uris
from tests.e2e.helpers import server_command, server_env

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:resources/subscribe is removed as of 2026-07-28")]


def _page(fake: Any, name: str) -> tuple[str, str, str]:
    node = next(n for n in fake.store.nodes.values() if n.is_page and n.display_text == name)
    entry = next(e for e in fake.store.page_entries(node.tree_id))
    return node.nbid, node.tree_id, entry.eid


async def test_a_subscribed_page_is_told_when_it_changes_and_reads_fresh(fake: Any) -> None:
    nbid, page_id, eid = _page(fake, "Western blot — p53")
    outside = _page(fake, "Retired samples")
    uri = uris.page_uri(nbid, page_id)
    updated = trio.Event()
    seen: list[str] = []

    async def handler(message: Any) -> None:
        if isinstance(message, types.ResourceUpdatedNotification):
            seen.append(str(message.params.uri))
            if str(message.params.uri) == uri:
                updated.set()

    env = server_env(
        fake,
        LABARCHIVES_NOTEBOOK_NAME=demo.DEFAULT_NOTEBOOK,
        LABARCHIVES_FOLDER_PATH="Projects",
        LABMCP_SUBSCRIPTION_INTERVAL="1",
    )
    command = server_command()
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    with trio.fail_after(120):
        async with Client(params, mode="legacy", message_handler=handler) as client:  # type: ignore[arg-type]
            assert client.server_capabilities.resources.subscribe  # type: ignore[union-attr]
            before = (await client.read_resource(uri)).contents[0].text  # type: ignore[union-attr]
            await client.subscribe_resource(uri)
            with pytest.raises(MCPError):
                await client.subscribe_resource(uris.page_uri(outside[0], outside[1]))
            fake.store.edit_entry(eid, "<p>Blot repeated: p21 down 91 %</p>", by=demo.UID, at=int(time.time()))
            await updated.wait()
            after = (await client.read_resource(uri)).contents[0].text  # type: ignore[union-attr]
    assert "91 %" in after and "91 %" not in before
    assert set(seen) == {uri}


async def test_the_notebook_list_announces_a_new_notebook(fake: Any) -> None:
    changed = trio.Event()

    async def handler(message: Any) -> None:
        if isinstance(message, types.ResourceListChangedNotification):
            changed.set()

    env = server_env(fake, LABMCP_SUBSCRIPTION_INTERVAL="1")
    command = server_command()
    params = StdioServerParameters(command=command[0], args=command[1:], env=env)
    with trio.fail_after(120):
        async with Client(params, mode="legacy", message_handler=handler) as client:  # type: ignore[arg-type]
            first = {r.name for r in (await client.list_resources()).resources}
            fake.store.add_notebook("Grant reports 2027", [demo.UID])
            await changed.wait()
            later = (await client.list_resources()).resources
    assert any(r.title == "Grant reports 2027" for r in later) and len(later) == len(first) + 1
