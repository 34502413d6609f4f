"""Load and soak: 32 concurrent MCP sessions over Streamable HTTP for a bounded time against the fake
with pacing off, while the health listener is attacked with garbage, slow-loris and oversized headers.
Zero errors, latency percentiles recorded, server RSS flat within a stated bound, /health/live always up."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from labmcp.fake import FakeLabArchives
from tests.adversarial.support import (
    HTTPServer,
    adversarial_env,
    http_server,
    leaked_secrets,
    mcp_session,
    rpc_messages,
)

pytestmark = pytest.mark.slow

CLIENTS = 32
DURATION = 20.0
RSS_BOUND_MIB = 20.0
"""Median RSS of the last quarter minus that of the first quarter must stay under this."""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _attack_health(server: HTTPServer, stop: trio.Event, probes: list[float], failures: list[str]) -> None:
    """Garbage, slow-loris and oversized headers at the health port, and a /health/live probe every 0.2 s."""

    async def garbage() -> None:
        while not stop.is_set():
            with trio.move_on_after(2):
                stream = await trio.open_tcp_stream("127.0.0.1", server.health)
                try:
                    await stream.send_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(256)) * 4)
                    await stream.receive_some(1024)
                except trio.BrokenResourceError:
                    pass
                finally:
                    await stream.aclose()
            await trio.sleep(0.05)

    async def slow_loris() -> None:
        streams = []
        try:
            for _ in range(20):
                streams.append(await trio.open_tcp_stream("127.0.0.1", server.health))
            while not stop.is_set():
                for stream in streams:
                    try:
                        await stream.send_all(
                            b"GET /health/live HTTP/1.1\r\nX-a: b"[: 1 + int(trio.current_time()) % 30]
                        )
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        pass
                await trio.sleep(0.5)
        finally:
            for stream in streams:
                await stream.aclose()

    async def oversized() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            while not stop.is_set():
                try:
                    await http.get(f"http://127.0.0.1:{server.health}/health/live", headers={"X-Big": "a" * 200_000})
                except httpx.HTTPError:
                    pass
                await trio.sleep(0.1)

    async def probe() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    answer = await http.get(f"http://127.0.0.1:{server.health}/health/live")
                    if answer.status_code != 200:
                        failures.append(f"live {answer.status_code}")
                except httpx.HTTPError as exc:
                    failures.append(f"live {type(exc).__name__}")
                probes.append(time.perf_counter() - started)
                await trio.sleep(0.2)

    async with trio.open_nursery() as nursery:
        for task in (garbage, slow_loris, oversized, probe):
            nursery.start_soon(task)


async def test_32_clients_for_20_seconds_zero_errors_flat_memory(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    """Each client loops list_notebooks / browse / read_page / search; every answer must be a result."""
    env = adversarial_env(cfake, log_file, LABARCHIVES_LOG_LEVEL="INFO", LABMCP_MAX_SESSIONS="64")
    latencies: list[float] = []
    errors: list[str] = []
    rss: list[tuple[float, int]] = []
    probes: list[float] = []
    health_failures: list[str] = []
    stop = trio.Event()
    async with http_server(env, tmp_path / "stderr.txt") as server:
        async with httpx.AsyncClient(timeout=30) as http:
            headers = await mcp_session(http, server.url)
            first = {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "list_notebooks", "arguments": {}},
            }
            nbid = rpc_messages(await http.post(server.url, headers=headers, content=json.dumps(first)))[0]["result"][
                "structuredContent"
            ]["notebooks"][0]["id"]
            browse = {"name": "browse_notebook", "arguments": {"notebook_id": nbid, "depth": 5}}
            got = await http.post(
                server.url,
                headers=headers,
                content=json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": browse}),
            )
            pages = [
                i["id"] for i in rpc_messages(got)[0]["result"]["structuredContent"]["items"] if i["kind"] == "page"
            ][:6]
        calls = [
            {"name": "list_notebooks", "arguments": {}},
            browse,
            *(
                {"name": "read_page", "arguments": {"notebook_id": nbid, "page_id": p, "max_chars": 4000}}
                for p in pages
            ),
            {"name": "search", "arguments": {"query": "PCR", "limit": 5}},
        ]

        async def client(n: int) -> None:
            async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=1)) as http:
                headers = await mcp_session(http, server.url)
                i = 0
                while not stop.is_set():
                    params = calls[(n + i) % len(calls)]
                    body = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}
                    started = time.perf_counter()
                    try:
                        answer = await http.post(server.url, headers=headers, content=json.dumps(body))
                        messages = rpc_messages(answer)
                        if (
                            answer.status_code != 200
                            or "result" not in messages[-1]
                            or messages[-1]["result"].get("isError")
                        ):
                            errors.append(f"{answer.status_code} {answer.text[:200]}")
                    except httpx.HTTPError as exc:
                        errors.append(type(exc).__name__)
                    latencies.append(time.perf_counter() - started)
                    i += 1

        async def sample() -> None:
            start = trio.current_time()
            while not stop.is_set():
                rss.append((trio.current_time() - start, rss_kib(server.process.pid)))
                await trio.sleep(0.25)

        async def timer() -> None:
            await trio.sleep(DURATION)
            stop.set()

        with trio.fail_after(DURATION + 60):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(timer)
                nursery.start_soon(sample)
                nursery.start_soon(_attack_health, server, stop, probes, health_failures)
                for n in range(CLIENTS):
                    nursery.start_soon(client, n)
        metrics = (await server.get("/metrics")).text
        assert server.process.returncode is None
    quarter = max(1, len(rss) // 4)
    first_q = statistics.median(v for _, v in rss[:quarter]) / 1024
    last_q = statistics.median(v for _, v in rss[-quarter:]) / 1024
    result = {
        "clients": CLIENTS,
        "seconds": DURATION,
        "requests": len(latencies),
        "errors": len(errors),
        "requests_per_second": round(len(latencies) / DURATION, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "rss_start_mib": round(rss[0][1] / 1024, 1),
        "rss_end_mib": round(rss[-1][1] / 1024, 1),
        "rss_growth_mib": round(last_q - first_q, 1),
        "rss_bound_mib": RSS_BOUND_MIB,
        "health_live_probes": len(probes),
        "health_live_failures": len(health_failures),
        "health_live_max_ms": round(max(probes) * 1000, 1) if probes else None,
    }
    figures["load"] = result
    assert not errors, errors[:10]
    assert len(latencies) > CLIENTS * 10, result
    assert not health_failures and len(probes) >= DURATION * 2, (health_failures[:5], result)
    assert last_q - first_q < RSS_BOUND_MIB, result
    assert not leaked_secrets(metrics)
