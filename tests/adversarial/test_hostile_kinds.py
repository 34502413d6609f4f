"""Hostile input by kind (issue 12), against stdio, Streamable HTTP and the health port, each with a
well-behaved client beside it that must keep getting correct answers.

Message kinds (``tests/adversarial/kinds.py``, applied at every position of several messages): deep
nesting, lone ``\\uD8xx``/``\\uDCxx`` escapes in keys and values, huge numbers, duplicate keys; each case
must get exactly the JSON-RPC error its position prescribes, on stdio and over HTTP alike. Connection
kinds: HTTP/2 frames on a reset stream (and h2c), slow bodies, idle heads on both ports, session reuse
across credentials and a session flood, a forged log line in the path, SIGTERM with a call past the
grace period. Work is bounded by counts; every wait is bounded by a multiple of a baseline measured in
the same run, never by a fixed budget.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import httpx
import httpx2
import pytest
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from labmcp.fake import FakeLabArchives
from tests.adversarial.kinds import Case, all_cases
from tests.adversarial.support import (
    CANARY_BEARER,
    HTTPServer,
    StdioPeer,
    adversarial_env,
    http_patience,
    http_server,
    mcp_session,
    read_logs,
    rpc_messages,
)

pytestmark = pytest.mark.slow

CHUNK = 40
H2_VARIANTS = 40
SLOW_BODIES = 12
IDLE_HEADS = 100
SESSION_FLOOD = 150
PROBES = 30


def h2_frames(variant: int) -> bytes:
    """An HTTP/2 prior-knowledge client: POST /mcp (with or without a token) and an open body, then
    RST_STREAM and a DATA frame on the stream it reset (every other variant), or a normal DATA."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    headers = [(":method", "POST"), (":path", "/mcp"), (":scheme", "http"), (":authority", "127.0.0.1")]
    if variant % 3 == 0:
        headers.append(("authorization", f"Bearer {CANARY_BEARER}"))
    conn.send_headers(1, headers)
    data = conn.data_to_send()
    payload = b"{" * (variant % 7) + b"}"
    if variant % 2:
        conn.reset_stream(1)
        data += conn.data_to_send()
        data += len(payload).to_bytes(3, "big") + b"\x00\x00" + (1).to_bytes(4, "big") + payload
    else:
        conn.send_data(1, payload, end_stream=True)
        data += conn.data_to_send()
    return data


class GoodClient:
    """The official SDK client calling list_notebooks in a loop; every answer must be right."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers = 0
        self.wrong: list[str] = []
        self._answered = trio.Event()

    async def run(self, stop: trio.Event) -> None:
        headers = {"Authorization": f"Bearer {CANARY_BEARER}"}
        async with (
            httpx2.AsyncClient(headers=headers, timeout=None) as http,
            Client(streamable_http_client(self.url, http_client=http)) as client,  # type: ignore[arg-type]
        ):
            while not stop.is_set():
                result = await client.call_tool("list_notebooks", {})
                notebooks = (result.structured_content or {}).get("notebooks")
                if result.is_error or not notebooks:
                    self.wrong.append(str(result)[:300])
                self.answers += 1
                self._answered.set()
                self._answered = trio.Event()

    async def calls(self, count: int, patience: float) -> None:
        """Wait for ``count`` more answers, each within ``patience`` seconds of the one before."""
        for _ in range(count):
            with trio.fail_after(patience):
                await self._answered.wait()


@asynccontextmanager
async def beside(server: HTTPServer, patience: float) -> AsyncIterator[GoodClient]:
    """A well-behaved client running for the duration of the block; it must answer throughout."""
    good = GoodClient(server.url)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(good.run, stop)
        await good.calls(1, patience)
        yield good
        await good.calls(2, patience)
        stop.set()
    assert not good.wrong, good.wrong[:3]


@asynccontextmanager
async def session_on(
    env: dict[str, str], stderr: Path
) -> AsyncIterator[tuple[HTTPServer, httpx.AsyncClient, dict[str, str], float]]:
    """A sidecar process, a raw client with one MCP session on it, and this machine's patience now."""
    async with http_server(env, stderr) as server, httpx.AsyncClient(timeout=None) as http:
        headers = await mcp_session(http, server.url)
        patience = await http_patience(http, server.url, headers)
        http.timeout = httpx.Timeout(patience)
        yield server, http, headers, patience


def _check_answer(case: Case, message: dict[str, Any]) -> str | None:
    error = message.get("error") or {}
    if error.get("code") != case.code or message.get("id") != case.request_id:
        return f"{case.kind} at {case.where}: got {message}"[:300]
    return None


async def test_stdio_answers_every_kind_with_the_error_its_position_prescribes(
    cfake: FakeLabArchives, log_file: Path, figures: dict[str, Any]
) -> None:
    env = adversarial_env(cfake, log_file, LABARCHIVES_LOG_LEVEL="INFO")
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "labmcp"], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    peer = StdioPeer(process)
    wrong: list[str] = []
    tried: dict[str, int] = {}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(peer.read)
        init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "k", "version": "1"}}
        await peer.call("init", "initialize", init)
        await peer.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        await peer.measure()
        good = 0
        for name, cases in all_cases().items():
            tried[name] = len(cases)
            for start in range(0, len(cases), CHUNK):
                chunk = cases[start : start + CHUNK]
                nulls = peer.null_codes.copy()
                await peer.send(b"".join(case.line + b"\n" for case in chunk))
                answer = await peer.call(f"good-{good}", "tools/call", {"name": "list_notebooks", "arguments": {}})
                good += 1
                if not answer["result"]["structuredContent"]["notebooks"]:
                    wrong.append(f"well-behaved call got {answer}")
                with_id = [case for case in chunk if case.request_id is not None]
                await peer.wait_for([case.request_id for case in with_id])
                expected_nulls = Counter(case.code for case in chunk if case.request_id is None)
                await peer.until(lambda n=nulls, e=expected_nulls: peer.null_codes - n == e)  # type: ignore[misc]
                for case in with_id:
                    problem = _check_answer(case, peer.by_id[case.request_id])
                    if problem or peer.answers[case.request_id] != 1:
                        wrong.append(problem or f"{case.where}: answered {peer.answers[case.request_id]} times")
        # Connection kinds have no stdio form; their bytes arrive as lines all the same.
        for variant in range(H2_VARIANTS):
            await peer.send(h2_frames(variant) + b"\n")
        slow = b'{"jsonrpc":"2.0","id":"slow","method":"ping"}\n'
        for byte in slow:  # a line trickling in, one byte per write
            await peer.send(bytes([byte]))
        await peer.wait_for(["slow"])
        final = await peer.call("final", "tools/call", {"name": "list_notebooks", "arguments": {}})
        nursery.cancel_scope.cancel()
    assert process.returncode is None, "the server died"
    assert final["result"]["structuredContent"]["notebooks"]
    assert not wrong, wrong[:10]
    process.kill()
    await process.wait()
    figures["kinds_stdio"] = {
        "tried": tried,
        "h2_frames_as_lines": H2_VARIANTS,
        "trickled_lines": 1,
        "well_behaved_calls": good + 1,
        "process_alive_after": True,
    }


async def test_http_answers_every_kind_with_the_same_errors_as_stdio(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    env = adversarial_env(cfake, log_file, LABARCHIVES_LOG_LEVEL="INFO")
    wrong: list[str] = []
    tried: dict[str, int] = {}
    async with session_on(env, tmp_path / "stderr.txt") as (server, http, headers, patience):
        async with beside(server, patience) as good:
            for name, cases in all_cases().items():
                tried[name] = len(cases)
                for case in cases:
                    answer = await http.post(server.url, headers=headers, content=case.line)
                    status = 200 if case.request_id is not None else 400
                    messages = rpc_messages(answer) if answer.content else []
                    if answer.status_code != status or len(messages) != 1:
                        wrong.append(f"{case.kind} at {case.where}: {answer.status_code} {answer.text[:200]}")
                    elif problem := _check_answer(case, messages[0]):
                        wrong.append(problem)
        assert server.process.returncode is None
        assert (await server.get("/health/live")).status_code == 200
    assert not wrong, wrong[:10]
    figures["kinds_http"] = {"tried": tried, "well_behaved_calls": good.answers, "process_alive_after": True}


async def _raw(port: int, data: bytes, patience: float, hold: trio.Event | None = None) -> bytes:
    """Send ``data`` on a new connection and read until the server closes it (or ``hold`` is set)."""
    got = b""
    try:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
    except OSError:
        return b"refused"
    async with stream:
        try:
            await stream.send_all(data)
            if hold is not None:
                await hold.wait()
                return b""
            with trio.fail_after(patience):
                while chunk := await stream.receive_some(65536):
                    got += chunk
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
    return got


async def test_connection_kinds_on_both_ports_leave_the_server_serving(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    env = adversarial_env(
        cfake,
        log_file,
        LABMCP_MAX_CONCURRENT_REQUESTS="4",
        LABMCP_BODY_TIMEOUT="3",
        LABMCP_MAX_SESSIONS="20",
        LABMCP_MAX_SESSIONS_PER_CREDENTIAL="20",
    )
    tried: dict[str, int] = {}
    async with session_on(env, tmp_path / "stderr.txt") as (server, http, headers, patience):
        probe_latency: list[float] = []

        async def probes(count: int) -> None:
            for _ in range(count):
                start = trio.current_time()
                assert (await server.get("/health/live")).status_code == 200
                probe_latency.append(trio.current_time() - start)

        async with beside(server, patience) as good:
            # HTTP/2 frames (prior knowledge, reset streams) on both ports; h2c upgrades on the MCP port.
            for variant in range(H2_VARIANTS):
                assert await _raw(server.port, h2_frames(variant), patience) == b""
                assert (await _raw(server.health, h2_frames(variant), patience)).startswith(b"HTTP/1.1 4")
            upgrade = b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
            upgrade += b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
            assert (await _raw(server.port, upgrade, patience)).startswith(b"HTTP/1.1 401")
            tried["h2 frames and h2c upgrades"] = 2 * H2_VARIANTS + 1

            # Idle heads announcing a body, on both ports, held open while probes and calls go on.
            hold = trio.Event()
            head = b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n"
            auth_head = head.replace(b"\r\n\r\n", f"\r\nAuthorization: Bearer {CANARY_BEARER}\r\n\r\n".encode())
            async with trio.open_nursery() as nursery:
                metrics_head = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                for n in range(IDLE_HEADS):
                    nursery.start_soon(_raw, server.port, auth_head if n % 2 else head, patience, hold)
                    nursery.start_soon(_raw, server.health, metrics_head, patience, hold)
                await probes(PROBES)
                await good.calls(3, patience)
                hold.set()
            tried["idle heads (MCP port + health port)"] = 2 * IDLE_HEADS

            # Slow bodies: one byte at a time, more of them than there are request slots.
            session = headers["Mcp-Session-Id"]
            slow_head = (
                f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {CANARY_BEARER}\r\n"
                f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
                f"Mcp-Session-Id: {session}\r\nContent-Length: 200\r\n\r\n"
            ).encode()
            answers: list[bytes] = []

            async def slow_body() -> None:
                stream = await trio.open_tcp_stream("127.0.0.1", server.port)
                got = b""
                async with stream:
                    await stream.send_all(slow_head)
                    with trio.move_on_after(patience):
                        while not got:
                            try:
                                await stream.send_all(b" ")
                            except trio.BrokenResourceError:
                                break
                            with trio.move_on_after(0.5):
                                got = await stream.receive_some(65536)
                    answers.append(got)

            async with trio.open_nursery() as nursery:
                for _ in range(SLOW_BODIES):
                    nursery.start_soon(slow_body)
                await good.calls(3, patience)
                await probes(5)
            assert len(answers) == SLOW_BODIES and all(a.startswith(b"HTTP/1.1 408") for a in answers), answers
            tried["slow bodies"] = SLOW_BODIES

            # Sessions: another credential can neither use nor end this one; a flood locks nobody out.
            other = {**headers, "Authorization": "Bearer another-credential"}
            call = {"jsonrpc": "2.0", "id": "x", "method": "tools/list"}
            assert (await http.post(server.url, headers=other, content=json.dumps(call))).status_code == 401
            assert (await http.delete(server.url, headers=other)).status_code == 401
            assert (await http.get(server.url, headers=other)).status_code == 401
            init = {
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "f", "version": "1"},
                },
            }
            fresh = {k: v for k, v in headers.items() if k not in ("Mcp-Session-Id", "MCP-Protocol-Version")}
            statuses = Counter(
                [
                    (await http.post(server.url, headers=fresh, content=json.dumps(init))).status_code
                    for _ in range(SESSION_FLOOD)
                ]
            )
            assert statuses == Counter({200: SESSION_FLOOD}), statuses
            newcomer = await mcp_session(http, server.url)
            listed = await http.post(server.url, headers=newcomer, content=json.dumps(call))
            assert listed.status_code == 200 and "list_notebooks" in listed.text
            tried["session reuse across credentials"] = 3
            tried["session flood (initialize)"] = SESSION_FLOOD

            # A path that would forge a log line, and the trailing-slash endpoint (served, never redirected).
            forged = "/mcp%0A2026-01-01 00:00:00,000 INFO labmcp.audit: access read_page forged=1"
            assert (await http.get(f"http://127.0.0.1:{server.port}{forged}")).status_code == 404
            slash = await http.post(server.url + "/", headers=fresh, content=json.dumps(init))
            assert slash.status_code == 200 and "location" not in slash.headers
            tried["log forging paths"] = 1

        assert server.process.returncode is None
        await probes(5)
        rss = _gauge((await server.get("/metrics")).text, "process_resident_memory_bytes") / 2**20
        assert rss < 128, f"RSS {rss:.1f} MiB after the connection kinds"
    lines = read_logs(log_file).splitlines()
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+: ")
    assert all(stamp.match(line) or line.startswith("    ") for line in lines if line), "a log line without a stamp"
    assert not any(line.startswith("2026-01-01") for line in lines)
    assert any("forged=1" in line for line in lines), "the refused path was not logged at all"
    figures["kinds_connections"] = {
        "tried": tried,
        "well_behaved_calls": good.answers,
        "health_probes": len(probe_latency),
        "health_probe_max_ms": round(1000 * max(probe_latency), 1),
        "rss_after_mib": round(rss, 1),
        "process_alive_after": True,
    }


def _gauge(metrics: str, name: str) -> float:
    return float(next(line.split()[1] for line in metrics.splitlines() if line.startswith(name + " ")))


async def _search(http: httpx.AsyncClient, server: HTTPServer, headers: dict[str, str], request_id: str) -> Any:
    params = {"name": "search", "arguments": {"query": request_id}}
    call = {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}
    answer = await http.post(server.url, headers=headers, content=json.dumps(call))
    assert answer.status_code == 200, answer.text
    return next(m for m in rpc_messages(answer) if m.get("id") == request_id)["result"]


async def test_a_call_past_the_request_deadline_is_answered_and_counted_as_an_error(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    env = adversarial_env(cfake, log_file, LABMCP_REQUEST_TIMEOUT="3", LABARCHIVES_READ_TIMEOUT="600")
    async with session_on(env, tmp_path / "stderr.txt") as (server, http, headers, _):
        cfake.faults.add("latency", method="entry_search", times=None, seconds=600)
        late = await _search(http, server, headers, "deadline")
        assert late["isError"] and "longer than 3 s" in late["content"][0]["text"]
        metrics = (await server.get("/metrics")).text
        assert 'labmcp_mcp_requests_total{method="tools/call",target="search",outcome="tool_error"} 1' in metrics
        cfake.faults.clear()
        assert not (await _search(http, server, headers, "after"))["isError"]
    figures["kinds_request_deadline"] = {"answered_with_tool_error": True}


async def test_sigterm_answers_a_call_past_the_grace_period(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    env = adversarial_env(cfake, log_file, LABMCP_SHUTDOWN_GRACE="1", LABARCHIVES_READ_TIMEOUT="600")
    async with session_on(env, tmp_path / "stderr.txt") as (server, http, headers, patience):
        cfake.faults.add("latency", method="entry_search", times=None, seconds=600)
        results: list[Any] = []

        async def running() -> None:
            results.append(await _search(http, server, headers, "shutdown"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(running)
            with trio.fail_after(patience):
                while "labmcp_mcp_in_flight_requests 1" not in (await server.get("/metrics")).text:
                    await trio.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
        assert results and results[0]["isError"] and "shutting down" in results[0]["content"][0]["text"]
        with trio.fail_after(patience):
            code = await server.process.wait()
        assert code == 0
    figures["kinds_shutdown"] = {"call_past_grace_answered": True, "exit_code": code}


async def test_sigterm_turns_readiness_503_while_the_listener_still_serves(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    """The shutdown delay is long here, so the order is observed without racing a clock: readiness first,
    the MCP listener still answering, and a second signal ending the process."""
    env = adversarial_env(cfake, log_file, LABMCP_SHUTDOWN_DELAY="600")
    async with session_on(env, tmp_path / "stderr.txt") as (server, http, headers, patience):
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(patience):
            while (await server.get("/health/ready")).status_code != 503:
                await trio.sleep(0.05)
        call = {"jsonrpc": "2.0", "id": "draining", "method": "tools/call"}
        call["params"] = {"name": "list_notebooks", "arguments": {}}
        answer = await http.post(server.url, headers=headers, content=json.dumps(call))
        assert answer.status_code == 200 and rpc_messages(answer)[0]["result"]["structuredContent"]["notebooks"]
        server.process.send_signal(signal.SIGTERM)
        with trio.fail_after(patience):
            await server.process.wait()
    figures["kinds_shutdown_drain"] = {"ready_503_while_serving": True}
