"""Sidecar mode end to end: the real process serving Streamable HTTP, health probes and metrics."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.e2e.helpers import attachments, server_command, server_env, structured

pytestmark = pytest.mark.slow

TOKEN = "e2e-bearer-token-5f1c"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Sidecar:
    def __init__(self, process: trio.Process, port: int, health: int) -> None:
        self.process = process
        self.port = port
        self.health = health
        self.url = f"http://127.0.0.1:{port}/mcp"

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient() as http:
            return await http.get(f"http://127.0.0.1:{self.health}{path}")

    @asynccontextmanager
    async def client(self, token: str | None = TOKEN) -> AsyncIterator[Client]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=30) as http,
            Client(streamable_http_client(self.url, http_client=http)) as client,  # type: ignore[arg-type]
        ):
            yield client


@asynccontextmanager
async def sidecar(env: dict[str, str], *extra: str) -> AsyncIterator[Sidecar]:
    port, health = free_port(), free_port()
    env = {**env, "LABMCP_HTTP_TOKEN": TOKEN}
    args = [*server_command(), "--transport", "http", "--port", str(port), "--health-port", str(health)]
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(
            lambda task_status=trio.TASK_STATUS_IGNORED: trio.run_process(
                [*args, *extra], env=env, check=False, stderr=subprocess.DEVNULL, task_status=task_status
            )
        )
        car = Sidecar(process, port, health)
        with trio.fail_after(30):
            while True:
                try:
                    if (await car.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await trio.sleep(0.1)
        try:
            yield car
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            with trio.fail_after(20):
                await process.wait()


async def test_sdk_client_over_streamable_http_calls_every_tool(fake: Any) -> None:
    with trio.fail_after(90):
        async with sidecar(server_env(fake)) as car, car.client() as client:
            tools = {t.name for t in (await client.list_tools()).tools}
            assert tools >= {
                "list_notebooks",
                "browse_notebook",
                "read_page",
                "search",
                "search_attachments",
                "get_attachment",
            }
            notebooks = structured(await client.call_tool("list_notebooks", {}))["notebooks"]
            nbid = notebooks[0]["id"]
            items = structured(await client.call_tool("browse_notebook", {"notebook_id": nbid, "depth": 5}))["items"]
            page = next(i for i in items if i["kind"] == "page")
            read = structured(await client.call_tool("read_page", {"notebook_id": nbid, "page_id": page["id"]}))
            assert "UNTRUSTED" in read["content"]
            assert not (await client.call_tool("search", {"query": "PCR"})).is_error
            pages = [i for i in items if i["kind"] == "page"]
            page_id, entry_id = next(iter((await attachments(client, nbid, pages)).values()))
            args = {"notebook_id": nbid, "page_id": page_id, "entry_id": entry_id}
            assert not (await client.call_tool("get_attachment", args)).is_error
            metrics = (await car.get("/metrics")).text
            assert 'labmcp_mcp_requests_total{method="tools/call",target="read_page",outcome="ok"}' in metrics
            assert "labmcp_upstream_requests_total{" in metrics
            await client.call_tool("list_notebooks", {})
            later = (await car.get("/metrics")).text
            assert counter(later, "list_notebooks") == counter(metrics, "list_notebooks") + 1
            await promtool_check(later)


def counter(text: str, tool: str) -> float:
    prefix = f'labmcp_mcp_requests_total{{method="tools/call",target="{tool}",outcome="ok"}} '
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return float(line.removeprefix(prefix))


async def promtool_check(text: str) -> None:
    """`promtool check metrics` on the exposition after real traffic (Debian's prometheus package)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("LABMCP_REQUIRE_PROMTOOL") == "1" or os.environ.get("LABMCP_REQUIRE_TOOLS") == "1":
            pytest.fail("promtool is missing (apt-get install prometheus)")
        return
    done = await trio.run_process(
        [promtool, "check", "metrics"], stdin=text.encode(), capture_stdout=True, capture_stderr=True, check=False
    )
    assert done.returncode == 0, (done.stdout + done.stderr).decode()


@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_missing_or_wrong_token_gets_401(fake: Any, token: str | None) -> None:
    with trio.fail_after(60):
        async with sidecar(server_env(fake)) as car:
            headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
            async with httpx.AsyncClient() as http:
                answer = await http.post(car.url, headers=headers, content=json.dumps(body))
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in answer.text


async def test_foreign_origin_and_host_are_refused(fake: Any) -> None:
    with trio.fail_after(60):
        async with sidecar(server_env(fake)) as car:
            base = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            async with httpx.AsyncClient() as http:
                evil = await http.post(car.url, headers={**base, "Origin": "http://evil.example"}, content="{}")
                assert evil.status_code == 403
                rebound = await http.post(car.url, headers={**base, "Host": "evil.example"}, content="{}")
                assert rebound.status_code == 421
                big = await http.post(car.url, headers=base, content=b"x" * 2_000_000)
                assert big.status_code == 413
                other = await http.get(f"http://127.0.0.1:{car.port}/admin", headers=base)
                assert other.status_code == 404
            # A slow-loris connection and raw garbage on the MCP port leave it serving.
            loris = await trio.open_tcp_stream("127.0.0.1", car.port)
            await loris.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            junk = await trio.open_tcp_stream("127.0.0.1", car.port)
            await junk.send_all(b"\x16\x03\x01\x00\xff" + bytes(range(256)) * 8)
            async with car.client() as client:
                assert (await client.list_tools()).tools
            await loris.aclose()
            await junk.aclose()
            assert (await car.get("/health/live")).status_code == 200


def upstream_up(metrics: str) -> float:
    return float(next(line for line in metrics.splitlines() if line.startswith("labmcp_upstream_up ")).split()[1])


async def test_labarchives_outage_keeps_the_pod_ready_and_shows_in_warnings_and_metrics(fake: Any) -> None:
    """Issue 19: an outage upstream must not empty the Service; clients get our tool error instead."""
    with trio.fail_after(90):
        env = server_env(fake, LABMCP_READINESS_INTERVAL="0.2", LABARCHIVES_MAX_ATTEMPTS="1")
        async with sidecar(env) as car, car.client() as client:
            assert upstream_up((await car.get("/metrics")).text) == 1
            fake.faults.add("http_status", times=None, status=503)
            while upstream_up((await car.get("/metrics")).text) != 0:
                await trio.sleep(0.1)
            ready = await car.get("/health/ready")
            assert ready.status_code == 200
            assert any("LabArchives unavailable" in warning for warning in ready.json()["warnings"])
            assert "labmcp_ready 1" in (await car.get("/metrics")).text
            result = await client.call_tool("search", {"query": "outage probe"})
            assert result.is_error and "LabArchives error" in str(result.content)
            fake.faults.clear()
            while upstream_up((await car.get("/metrics")).text) != 1:
                await trio.sleep(0.1)
            assert (await car.get("/health/ready")).json() == {"status": "ready"}


async def test_sigterm_flips_ready_then_exits_zero(fake: Any) -> None:
    with trio.fail_after(60):
        async with sidecar(server_env(fake, LABMCP_SHUTDOWN_GRACE="2")) as car:
            car.process.send_signal(signal.SIGTERM)
            code = await car.process.wait()
            assert code == 0


async def test_labarchives_down_at_start_serves_the_reason_and_sigterm_still_exits(fake: Any) -> None:
    """Sidecar start-up while LabArchives is down: no crash loop; once the first attempt has failed the
    pod is live and ready, answers tool calls at once with the reason, and exits cleanly."""
    fake.faults.add("http_status", times=None, status=503)
    port, health = free_port(), free_port()
    env = {**server_env(fake, LABARCHIVES_MAX_ATTEMPTS="1"), "LABMCP_HTTP_TOKEN": TOKEN}
    args = [*server_command(), "--transport", "http", "--port", str(port), "--health-port", str(health)]
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(
                lambda task_status=trio.TASK_STATUS_IGNORED: trio.run_process(
                    args, env=env, check=False, stderr=subprocess.DEVNULL, task_status=task_status
                )
            )
            car = Sidecar(process, port, health)
            while True:
                try:
                    ready = await car.get("/health/ready")
                except httpx.TransportError:
                    await trio.sleep(0.1)
                    continue
                if ready.status_code == 200:
                    break
                assert ready.json()["reasons"] == ["startup: starting: connecting to LabArchives"]
                await trio.sleep(0.1)
            assert any("cannot start" in warning for warning in ready.json()["warnings"])
            assert upstream_up((await car.get("/metrics")).text) == 0
            async with car.client() as client:
                result = await client.call_tool("list_notebooks", {})
            assert result.is_error and "cannot reach LabArchives yet" in str(result.content)
            assert (await car.get("/health/live")).status_code == 200
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
