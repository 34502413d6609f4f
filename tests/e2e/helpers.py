"""Start the real server process against the fake LabArchives and talk to it with the SDK client."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import mcp_types as types
import pytest
from mcp import Client, StdioServerParameters


def server_env(fake: Any, **extra: str) -> dict[str, str]:
    """Environment for a server process pointed at the fake with the demo user's credentials."""
    creds = fake.credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABARCHIVES_", "LABMCP_", "MCP_"))}
    env.update(
        LABARCHIVES_API_BASE=fake.base_url,
        LABARCHIVES_AKID=creds.akid,
        LABARCHIVES_SECRET=creds.password,
        LABARCHIVES_USER=creds.email,
        LABARCHIVES_TOKEN=creds.token.reveal(),
        LABARCHIVES_REQUEST_INTERVAL="0",
        LABARCHIVES_RETRY_BACKOFF="0",
    )
    env.update(extra)
    return env


def server_command() -> list[str]:
    """How to start the server: `python -m labmcp`, or LABMCP_SERVER_COMMAND (e.g. the built pyz)."""
    custom = os.environ.get("LABMCP_SERVER_COMMAND")
    return shlex.split(custom) if custom else [sys.executable, "-m", "labmcp"]


@asynccontextmanager
async def stdio_client(env: Mapping[str, str], *args: str, mode: str = "legacy") -> AsyncIterator[Client]:
    """The official SDK client over stdio to the real server subprocess."""
    command = server_command()
    params = StdioServerParameters(command=command[0], args=[*command[1:], *args], env=dict(env))
    async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
        yield client


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, types.TextContent))


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def attachments(client: Any, nbid: str, pages: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    """Every attachment of the notebook: file name -> (page id, entry id)."""
    found: dict[str, tuple[str, str]] = {}
    for page in pages:
        data = structured(await client.call_tool("read_page", {"notebook_id": nbid, "page_id": page["id"]}))
        for entry in data["entries"]:
            if entry["part_type"] == "Attachment":
                found[entry["filename"]] = (page["id"], entry["entry_id"])
    return found


def npm_tool(env_var: str, what: str) -> str:
    """The path of an npm-installed judge that `make test` provides in ``env_var``: a missing one skips a
    local run and fails under CI or LABMCP_REQUIRE_TOOLS=1, so CI can never pass without it."""
    path = os.environ.get(env_var, "")
    if not path or not Path(path).exists():
        if os.environ.get("LABMCP_REQUIRE_TOOLS") == "1" or os.environ.get("CI"):
            pytest.fail(f"{what} is missing: `make test` installs it (npm)")
        pytest.skip(f"{what} not installed; run the tests through `make test`")
    return path
