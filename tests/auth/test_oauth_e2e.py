"""OAuth mode end to end: the SDK's OAuth client signs researchers in through our consent page and the
fake LabArchives' login page, then uses and refreshes its tokens against the real server process.

The isolation oracle is the institution fake's data: each researcher's pages carry their own marker
(``labmcp.fake.institution``), so any answer holding another researcher's marker is a leak, whichever
tool, resource, prompt or completion produced it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
import trio
from mcp import Client
from mcp.shared.exceptions import MCPError

from labmcp.fake import FakeLabArchives, institution
from tests.auth.support import (
    MemoryStorage,
    browser_for,
    free_port,
    oauth_client,
    oauth_env,
    oauth_provider,
    person,
    replica,
    sdk_client,
    write_keys,
)
from tests.e2e.helpers import structured, text_of

pytestmark = pytest.mark.slow


def dump(value: Any) -> str:
    """Everything an answer carries, as text, for the marker check."""
    if hasattr(value, "model_dump"):
        return json.dumps(value.model_dump(mode="json"), ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


async def everything_seen(client: Client, me: institution.Researcher) -> tuple[str, dict[str, str]]:
    """Drive every tool, resource, prompt and completion over the user's own notebooks.

    Returns all answers as one text and the user's notebook ids by name. Searches for the other
    users' markers must find nothing (their answers echo the query, so they are checked apart).
    """
    seen: list[str] = []

    async def call(tool: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(tool, args)
        seen.append(dump(result))
        return structured(result)

    notebooks = {nb["name"]: nb["id"] for nb in (await call("list_notebooks", {}))["notebooks"]}
    for nbid in notebooks.values():
        items = (await call("browse_notebook", {"notebook_id": nbid, "depth": 5}))["items"]
        for page in (i for i in items if i["kind"] == "page"):
            read = await call("read_page", {"notebook_id": nbid, "page_id": page["id"]})
            for entry in read["entries"]:
                if entry["part_type"] == "Attachment":
                    args = {"notebook_id": nbid, "page_id": page["id"], "entry_id": entry["entry_id"]}
                    seen.append(dump(await client.call_tool("get_attachment", args)))
            contents = (await client.read_resource(page["uri"])).contents
            seen.append(dump(contents))
            got = await client.get_prompt("summarize_page", {"notebook_id": nbid, "page_id": page["id"]})
            seen.append(dump(got))
        ref = types.ResourceTemplateReference(
            type="ref/resource", uri="labarchives://notebook/{notebook_id}/page/{page_id}"
        )
        done = await client.complete(ref, {"name": "page_id", "value": ""}, context_arguments={"notebook_id": nbid})
        seen.append(dump(done))
    for marker in institution.MARKERS:
        found = structured(await client.call_tool("search", {"query": marker}))["results"]
        if marker == me.marker:
            assert found
            seen.append(dump(found))
        else:
            assert found == []
    resources = (await client.list_resources()).resources
    seen.append(dump(resources))
    for resource in resources:
        seen.append(dump((await client.read_resource(resource.uri)).contents))
    ref = types.ResourceTemplateReference(type="ref/resource", uri="labarchives://notebook/{notebook_id}")
    seen.append(dump(await client.complete(ref, {"name": "notebook_id", "value": ""})))
    return "\n".join(seen), notebooks


async def test_sdk_oauth_client_signs_in_uses_and_refreshes_its_token(
    institution_fake: FakeLabArchives, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = oauth_env(institution_fake, write_keys(tmp_path / "keys", "k1"), url)
    storage = MemoryStorage()
    auth = oauth_provider(url + "/mcp", browser_for(0), storage)
    with trio.fail_after(120):
        async with replica(env, port, tmp_path / "server.log"):
            async with sdk_client(url + "/mcp", auth) as client:
                names = [nb["name"] for nb in structured(await client.call_tool("list_notebooks", {}))["notebooks"]]
                assert sorted(names) == sorted(person(0).notebooks)
            first = storage.tokens
            assert first is not None and first.refresh_token and storage.client_info is not None
            logins = sum(1 for r in institution_fake.log if r.api_method == "user_access_info")
            # Age the access token as the client sees it: its next request must refresh, not sign in again.
            auth.context.token_expiry_time = time.time() - 1
            async with sdk_client(url + "/mcp", auth) as client:
                assert not (await client.call_tool("list_notebooks", {})).is_error
            second = storage.tokens
            assert second is not None and second.access_token != first.access_token
            assert second.refresh_token and second.refresh_token != first.refresh_token
            assert sum(1 for r in institution_fake.log if r.api_method == "user_access_info") == logins
    log = (tmp_path / "server.log").read_text()
    assert "access user=u-" in log and "sign-in user=u-" in log
    for secret in (person(0).uid, person(0).email, first.access_token, first.refresh_token, second.access_token):
        assert secret not in log


@pytest.mark.parametrize(("stateless", "mode"), [("false", "legacy"), ("true", "legacy"), ("true", "2026-07-28")])
async def test_two_users_through_one_server_each_see_only_their_own_notebooks(
    institution_fake: FakeLabArchives, tmp_path: Path, stateless: str, mode: str
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = oauth_env(institution_fake, write_keys(tmp_path / "keys", "k1"), url, LABMCP_STATELESS=stateless)
    with trio.fail_after(240):
        async with (
            replica(env, port),
            oauth_client(url + "/mcp", browser_for(0), mode=mode) as alice,
            oauth_client(url + "/mcp", browser_for(1), mode=mode) as bob,
        ):
            # Interleaved on purpose: the second user's first calls come after the first user's cache is warm.
            alice_saw, alice_nbs = await everything_seen(alice, person(0))
            bob_saw, bob_nbs = await everything_seen(bob, person(1))
            again, _ = await everything_seen(alice, person(0))
            assert sorted(alice_nbs) == sorted(person(0).notebooks)
            assert sorted(bob_nbs) == sorted(person(1).notebooks)
            for saw, me in ((alice_saw + again, 0), (bob_saw, 1)):
                assert person(me).marker in saw
                for other in institution.RESEARCHERS:
                    if other.marker != person(me).marker:
                        assert other.marker not in saw
            # The other user's ids answer exactly like ids that do not exist.
            bob_nb = next(iter(bob_nbs.values()))
            result = await alice.call_tool("browse_notebook", {"notebook_id": bob_nb})
            assert result.is_error and person(1).marker not in text_of(result)
            with pytest.raises(MCPError):
                await alice.read_resource(f"labarchives://notebook/{bob_nb}")
