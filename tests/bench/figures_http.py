"""Streamable HTTP under load: tools/call throughput and latency with concurrent clients, three servers.

Compared: (a) the minimal SDK server on uvicorn (asyncio, the SDK's default stack: the baseline),
(b) the same minimal server on hypercorn's trio worker (what our transport uses), and (c) our real
server (guard + SDK app on hypercorn-trio) calling ``list_notebooks``, answered from its cache.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from labmcp.fake.serve import FakeLabArchives
from tests.bench.context import ORDER_HTTP, Bench, Section
from tests.bench.figures_stdio import MINIMAL, OURS, server_env
from tests.bench.peer import PROTOCOL_VERSION, ROOT, clean_env, free_port
from tests.bench.report import Row, median, percentile

ACCEPT = "application/json, text/event-stream"


@dataclass(frozen=True, slots=True)
class Load:
    """What a load run saw: completed calls, errors, seconds, latencies (s)."""

    calls: int
    errors: int
    seconds: float
    latencies: tuple[float, ...]

    @property
    def throughput(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0


def _rpc_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC answer from a JSON or an SSE (text/event-stream) response body."""
    response.raise_for_status()
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        for line in response.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                message: dict[str, Any] = json.loads(line[5:])
                if "result" in message or "error" in message:
                    break
        else:
            raise RuntimeError("no JSON-RPC answer in the event stream")
    else:
        message = response.json()
    if "error" in message or message["result"].get("isError"):
        raise RuntimeError(str(message.get("error") or message["result"]))
    result: dict[str, Any] = message["result"]
    return result


async def _session(http: httpx.AsyncClient, url: str) -> dict[str, str]:
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"},
        },
    }
    response = await http.post(url, json=init, headers={"accept": ACCEPT})
    _rpc_result(response)
    headers = {"accept": ACCEPT, "mcp-protocol-version": PROTOCOL_VERSION}
    if sid := response.headers.get("mcp-session-id"):
        headers["mcp-session-id"] = sid
    await http.post(url, json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
    return headers


async def _open_session(http: httpx.AsyncClient, url: str, attempts: int = 3) -> dict[str, str]:
    """A session, retrying a connection cut during set-up (seen once in a smoke run, right after start)."""
    for attempt in range(attempts):
        try:
            return await _session(http, url)
        except httpx.TransportError:
            if attempt == attempts - 1:
                raise
            await trio.sleep(0.1)
    raise AssertionError("unreachable")


async def load(url: str, tool: str, arguments: Mapping[str, Any], clients: int, seconds: float) -> Load:
    """``clients`` sessions each calling ``tool`` back to back for ``seconds``."""
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        sessions = [await _open_session(http, url) for _ in range(clients)]
        deadline = time.perf_counter() + seconds

        async def worker(headers: dict[str, str]) -> None:
            nonlocal errors
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                body = {
                    "jsonrpc": "2.0",
                    "id": n,
                    "method": "tools/call",
                    "params": {"name": tool, "arguments": dict(arguments)},
                }
                started = time.perf_counter()
                try:
                    _rpc_result(await http.post(url, json=body, headers=headers))
                except (httpx.HTTPError, RuntimeError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for headers in sessions:
                nursery.start_soon(worker, headers)
        elapsed = time.perf_counter() - started
    return Load(len(latencies), errors, elapsed, tuple(latencies))


@asynccontextmanager
async def http_server(command: Sequence[str], env: Mapping[str, str], port: int) -> AsyncIterator[str]:
    """Start an HTTP server process and wait until its port accepts connections; yields the /mcp URL."""
    process = await trio.lowlevel.open_process(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(env),
        cwd=ROOT,
    )
    try:
        with trio.fail_after(30):
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"{command} exited with {process.returncode}")
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                except OSError:
                    await trio.sleep(0.05)
                    continue
                await stream.aclose()
                break
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        with trio.CancelScope(shield=True):
            process.terminate()
            with trio.move_on_after(10):
                await process.wait()
            if process.poll() is None:
                process.kill()
                await process.wait()


async def http_figures(fake: FakeLabArchives, clients: int, seconds: float) -> list[Row]:
    results: dict[str, Load] = {}
    echo = {"text": "hello"}
    for name, mode in (("uvicorn", "uvicorn"), ("hypercorn", "hypercorn")):
        port = free_port()
        async with http_server([*MINIMAL[:2], mode, str(port)], clean_env(), port) as url:
            results[name] = await load(url, "echo", echo, clients, seconds)
    port = free_port()
    env = server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0")  # shipped limits: 32 concurrent requests
    async with http_server([*OURS, "--transport", "http", "--port", str(port)], env, port) as url:
        results["ours"] = await load(url, "list_notebooks", {}, clients, seconds)
    base = results["uvicorn"]
    rows = []
    for key, label in (
        ("hypercorn", "minimal SDK server on hypercorn-trio"),
        ("ours", "labmcp list_notebooks (cached)"),
    ):
        got = results[key]
        rows += [
            Row(f"HTTP {clients} clients: throughput, {label}", got.throughput, base.throughput, "calls/s",
                note=f"{got.calls} calls in {got.seconds:.1f} s"),
            Row(f"HTTP {clients} clients: p50 latency, {label}", median(got.latencies) * 1000,
                median(base.latencies) * 1000, "ms"),
            Row(f"HTTP {clients} clients: p99 latency, {label}", percentile(got.latencies, 99) * 1000,
                percentile(base.latencies, 99) * 1000, "ms"),
            Row(f"HTTP {clients} clients: failed calls, {label}", got.errors, base.errors, "", "0", got.errors == 0,
                "503 'too many concurrent requests' from our guard" if key == "ours" and got.errors else ""),
        ]  # fmt: skip
    return rows


async def http(bench: Bench) -> list[Row]:
    rows: list[Row] = []
    for clients in bench.plan.http_clients:
        rows += await http_figures(bench.fake, clients, bench.plan.http_seconds)
    return rows


SECTIONS = (
    Section(
        "http",
        ORDER_HTTP,
        http,
        smoke=(
            "HTTP 4 clients: throughput, minimal SDK server on hypercorn-trio",
            "HTTP 4 clients: p99 latency, labmcp list_notebooks",
        ),
    ),
)
