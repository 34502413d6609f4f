"""notifications/progress for paced LabArchives work, on stdio and Streamable HTTP, judged by the SDK client.

The server paces LabArchives calls (here 0.2 s apart), so a cold read of a deep page needs several
calls in a row; a request that carries a progressToken must hear about them, one that does not
must hear nothing. Counts are asserted, never durations: the first step is always sent at once.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import mcp_types as types
import pytest
import trio
from mcp import Client, StdioServerParameters

from tests.e2e.helpers import server_command, server_env, stdio_client, structured
from tests.e2e.test_http_sidecar import TOKEN, sidecar

pytestmark = pytest.mark.slow

DEEP_PAGE = "PCR colony screen"  # Projects/CRISPR knock-out of TP53/Cloning: depth 4


def paced(fake: Any) -> dict[str, str]:
    return server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0.2")


def deep_page(fake: Any) -> tuple[str, str]:
    node = next(n for n in fake.store.nodes.values() if n.is_page and n.display_text.startswith(DEEP_PAGE))
    return node.nbid, node.tree_id


async def exercise(
    client: Client, fake: Any, heard: list[Any] | None = None
) -> tuple[list[tuple[float, float | None, str | None]], int]:
    """A cold read_page with a progress callback, then a search without one. Returns the updates of
    the first and how many progress notifications ``heard`` (every one the client got) gained during
    the second."""
    updates: list[tuple[float, float | None, str | None]] = []
    heard = heard if heard is not None else []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))

    nbid, page_id = deep_page(fake)
    args = {"notebook_id": nbid, "page_id": page_id}
    structured(await client.call_tool("read_page", args, progress_callback=on_progress))
    before = len(heard)
    structured(await client.call_tool("search", {"query": "PCR"}))
    return updates, len(heard) - before


def check(updates: list[tuple[float, float | None, str | None]]) -> None:
    assert updates, "a paced cold read sends at least one progress notification"
    values = [p for p, _, _ in updates]
    assert values == sorted(set(values)), "progress only grows"
    assert all(m and "LabArchives" in m for _, _, m in updates)


async def test_progress_over_stdio_only_when_asked(fake: Any) -> None:
    heard: list[Any] = []

    async def handler(message: Any) -> None:
        if isinstance(message, types.ProgressNotification):
            heard.append(message)

    command = server_command()
    params = StdioServerParameters(command=command[0], args=command[1:], env=paced(fake))
    with trio.fail_after(120):
        async with Client(params, mode="legacy", message_handler=handler) as client:  # type: ignore[arg-type]
            updates, unasked = await exercise(client, fake, heard)
    check(updates)
    assert heard, "the message handler sees the notifications too"
    assert unasked == 0, "a request without a progressToken gets no progress"


async def test_progress_over_streamable_http(fake: Any) -> None:
    with trio.fail_after(120):
        async with sidecar(paced(fake)) as car, car.client() as client:
            updates, _ = await exercise(client, fake)
    check(updates)


async def test_a_raw_client_gets_sse_only_when_it_asks_for_progress_and_json_otherwise(fake: Any) -> None:
    """An independent client (raw httpx, the 2025-11-25 handshake) against the real process: the server
    may answer a POST with either content type (basic/transports); it streams a request that carries a
    progressToken and answers every other one with a single JSON object."""
    nbid, page_id = deep_page(fake)
    headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json, text/event-stream"}
    init = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "0"}},
    }
    read = {
        "name": "read_page",
        "arguments": {"notebook_id": nbid, "page_id": page_id},
        "_meta": {"progressToken": "r"},
    }
    with trio.fail_after(120):
        async with sidecar(paced(fake)) as car, httpx.AsyncClient(timeout=60) as http:
            opened = await http.post(car.url, headers=headers, json=init)
            assert kind(opened) == "application/json" and opened.json()["id"] == 1
            headers |= {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
            note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
            assert (await http.post(car.url, headers=headers, json=note)).status_code == 202
            streamed = await http.post(car.url, headers=headers, json=rpc(2, "tools/call", read))
            plain = await http.post(
                car.url, headers=headers, json=rpc(3, "tools/call", {"name": "search", "arguments": {"query": "PCR"}})
            )
    assert kind(streamed) == "text/event-stream"
    messages = [json.loads(x[5:]) for x in streamed.text.splitlines() if x.startswith("data:") and x[5:].strip()]
    *progress, answer = messages
    assert progress and all(m["method"] == "notifications/progress" for m in progress)
    assert {m["params"]["progressToken"] for m in progress} == {"r"}
    assert answer["id"] == 2 and not answer["result"]["isError"]
    assert kind(plain) == "application/json"
    assert plain.json()["id"] == 3 and not plain.json()["result"]["isError"]


def rpc(request_id: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


def kind(answer: httpx.Response) -> str:
    return answer.headers.get("content-type", "").split(";")[0]


async def test_a_cancelled_request_releases_its_queued_calls(fake: Any) -> None:
    """Cancel a paced cold read at its first progress step; the next request's calls are the only ones
    LabArchives sees afterwards (the pacer is first-come, so a walk still running would show first)."""
    nbid, page_id = deep_page(fake)
    other = next(nb for nb in fake.store.visible_notebooks(fake.credentials.uid) if nb.nbid != nbid)
    async with stdio_client(server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0.5")) as client:
        structured(await client.call_tool("list_notebooks", {}))
        with trio.fail_after(120):
            with trio.CancelScope() as scope:

                async def cancel_at_first_step(progress: float, total: float | None, message: str | None) -> None:
                    scope.cancel()

                await client.call_tool(
                    "read_page", {"notebook_id": nbid, "page_id": page_id}, progress_callback=cancel_at_first_step
                )
            assert scope.cancelled_caught
            cancelled_at = len(fake.log)
            structured(await client.call_tool("browse_notebook", {"notebook_id": other.nbid}))
    later = fake.log[cancelled_at:]
    assert later, "the browse reached LabArchives"
    # At most the one call that was already on the wire when the cancel arrived may still belong to the read.
    stray = [r for r in later if r.params.get("nbid") == nbid]
    assert len(stray) <= 1, [r.api_method for r in stray]
