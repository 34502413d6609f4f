"""OAuth mode end to end: the SDK's OAuth client signs a researcher in through our consent page and
the fake LabArchives' login page, then uses and refreshes the token against the real server process."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from labmcp.fake import FakeLabArchives
from tests.auth.support import (
    MemoryStorage,
    browser_for,
    free_port,
    oauth_client,
    oauth_env,
    person,
    replica,
    write_keys,
)
from tests.e2e.helpers import structured

pytestmark = pytest.mark.slow


async def test_sdk_oauth_client_signs_in_uses_and_refreshes_its_token(
    institution_fake: FakeLabArchives, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = oauth_env(institution_fake, write_keys(tmp_path / "keys", "k1"), url)
    storage = MemoryStorage()
    with trio.fail_after(120):
        async with replica(env, port, tmp_path / "server.log"):
            async with oauth_client(url + "/mcp", browser_for(0), storage) as client:
                names = [nb["name"] for nb in structured(await client.call_tool("list_notebooks", {}))["notebooks"]]
                assert sorted(names) == sorted(person(0).notebooks)
            assert storage.tokens is not None and storage.tokens.refresh_token
            assert storage.client_info is not None
