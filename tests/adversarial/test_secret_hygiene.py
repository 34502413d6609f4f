"""Secret hygiene: servers run with canary credentials (access password, app token, HTTP bearer token),
DEBUG logs to a file, and faults that put LabArchives errors in front of the model. No log line, log
file, stderr, error message, tool output, /metrics or /health answer holds a canary or a ``sig=``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from labmcp.fake import FakeLabArchives
from tests.adversarial.support import (
    CANARY_BEARER,
    CANARY_PASSWORD,
    StdioPeer,
    adversarial_env,
    http_server,
    leaked_secrets,
    read_logs,
)

pytestmark = pytest.mark.slow


async def _session_that_fails_every_way(client: Client, fake: FakeLabArchives) -> list[str]:
    """Every tool, resource and prompt, then the same under upstream auth failures and faults."""
    seen: list[str] = []

    async def tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await client.call_tool(name, args)
        seen.append(result.model_dump_json())
        return result.structured_content or {}

    async def resource(uri: str) -> None:
        try:
            seen.append((await client.read_resource(uri)).model_dump_json())
        except MCPError as exc:
            seen.append(str(exc))

    nbid = (await tool("list_notebooks", {}))["notebooks"][0]["id"]
    items = (await tool("browse_notebook", {"notebook_id": nbid, "depth": 5}))["items"]
    page = next(i for i in items if i["kind"] == "page")
    await tool("read_page", {"notebook_id": nbid, "page_id": page["id"]})
    await tool("search", {"query": "PCR"})
    await tool("read_page", {"notebook_id": nbid, "page_id": "x" * 1000})
    await resource(page["uri"])
    await resource("file:///proc/self/environ")
    seen.append(
        (await client.get_prompt("summarize_page", {"notebook_id": nbid, "page_id": page["id"]})).model_dump_json()
    )
    for kind, params in (
        ("reset", {}),
        ("xml_bomb", {}),
        ("http_status", {"status": 502}),
        ("la_error", {"code": 4520}),
    ):
        fake.faults.add(kind, times=None, **params)  # type: ignore[arg-type]
        await tool("search", {"query": f"fault {kind}"})
        fake.faults.clear()
    fake.store.add_akid(fake.credentials.akid, "changed-upstream")
    await tool("search", {"query": "after password change"})
    fake.store.add_akid(fake.credentials.akid, CANARY_PASSWORD)
    fake.store.revoke_uid(fake.credentials.uid)
    await tool("search", {"query": "after revocation"})
    fake.store.users[fake.credentials.uid].revoked = False
    await tool("search", {"query": "recovered"})
    return seen


async def test_http_sidecar_never_shows_a_secret(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    """Over Streamable HTTP with the canary bearer: outputs, stderr, log file, /metrics and /health."""
    env = adversarial_env(cfake, log_file, LABARCHIVES_CACHE_TTL="0", LABARCHIVES_MAX_ATTEMPTS="2")
    stderr = tmp_path / "stderr.txt"
    places: dict[str, str] = {}
    with trio.fail_after(120):
        async with http_server(env, stderr) as server:
            headers = {"Authorization": f"Bearer {CANARY_BEARER}"}
            async with (
                httpx2.AsyncClient(headers=headers, timeout=30) as http,
                Client(streamable_http_client(server.url, http_client=http)) as client,  # type: ignore[arg-type]
            ):
                places["outputs"] = "\n".join(await _session_that_fails_every_way(client, cfake))
            async with httpx.AsyncClient(timeout=10) as raw:
                for bad in ("Bearer wrong", f"Bearer {CANARY_BEARER}x", f"Basic {CANARY_BEARER}", ""):
                    answer = await raw.post(server.url, headers={"Authorization": bad}, content=b"{}")
                    places[f"401 {bad[:6]}"] = f"{answer.status_code} {answer.headers} {answer.text}"
            for path in ("/metrics", "/health", "/health/ready", "/health/live"):
                places[path] = (await server.get(path)).text
    places["stderr"] = stderr.read_text(encoding="utf-8", errors="replace")
    places["log file"] = read_logs(log_file)
    assert "DEBUG" in places["log file"], "the log file must hold the DEBUG lines we scan"
    found = {where: leaked_secrets(text) for where, text in places.items() if leaked_secrets(text)}
    figures.setdefault("secret_hygiene", {})["http"] = {"places_scanned": sorted(places), "leaks": len(found)}
    assert not found, found


async def test_stdio_server_with_json_logs_never_shows_a_secret(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    """Over stdio with JSON logs on stderr and in the file: stdout, stderr, log file, error messages."""
    env = adversarial_env(
        cfake, log_file, LABARCHIVES_LOG_JSON="true", LABARCHIVES_CACHE_TTL="0", LABARCHIVES_MAX_ATTEMPTS="1"
    )
    stderr = tmp_path / "stderr.txt"
    with stderr.open("wb") as err:
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "labmcp"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err
        )
    peer = StdioPeer(process)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.read)
            init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "s", "version": "1"}}
            await peer.call(1, "initialize", init)
            await peer.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
            calls: list[tuple[str, dict[str, Any]]] = [
                ("list_notebooks", {}),
                ("search", {"query": "PCR"}),
                ("read_page", {"notebook_id": "n", "page_id": "p"}),
            ]
            for n, (name, args) in enumerate(calls, 2):
                await peer.call(n, "tools/call", {"name": name, "arguments": args})
            cfake.store.add_akid(cfake.credentials.akid, "changed-upstream")
            await peer.call(10, "tools/call", {"name": "search", "arguments": {"query": "x"}})
            cfake.faults.add("la_error", times=None, code=4520)
            await peer.call(11, "tools/call", {"name": "search", "arguments": {"query": "y"}})
            await peer.send(b"\xff not json\n")
            await peer.call(12, "resources/read", {"uri": "labarchives://notebooks/%ZZ"})
            nursery.cancel_scope.cancel()
        assert process.stdin is not None
        await process.stdin.aclose()
        await process.wait()
    stderr_text = stderr.read_text(encoding="utf-8", errors="replace")
    logged = read_logs(log_file)
    assert '"level": "DEBUG"' in logged
    assert "4520" in stderr_text + logged
    found = {
        where: leaked_secrets(text)
        for where, text in (("stderr", stderr_text), ("log file", logged))
        if leaked_secrets(text)
    }
    assert not peer.secrets and not found, (peer.secrets, found)  # peer.secrets: the scan of every stdout line
    figures.setdefault("secret_hygiene", {})["stdio_json_logs"] = {
        "lines_out": peer.lines,
        "leaks": len(found) + len(peer.secrets),
    }
