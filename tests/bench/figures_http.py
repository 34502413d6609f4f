"""Streamable HTTP under load: tools/call throughput and latency with concurrent clients, four servers.

Compared: (a) the minimal SDK server on uvicorn (asyncio, the SDK's default stack and its default
SSE answers: the baseline), (b) the same with JSON answers (the SDK's best on uvicorn, for
reference), (c) the same minimal server on hypercorn's trio worker (the stack our transport uses)
with SSE and (d) with JSON answers, and (e) our real server (guard + SDK app on hypercorn-trio,
JSON answers for calls without a progressToken: ``labmcp.transports.answers``) calling
``list_notebooks``, answered from its cache. The smoke run (``--quick``) keeps (a) and (e).

The load generator is ``wrk`` (C, one thread, ``tests/bench/wrk_mcp.lua``) so it is not the
bottleneck: its CPU time is measured and reported per run, beside the server's. The servers
run side by side and the load runs alternate between them (ABBA rounds), each client count in turn.
Throughput on a shared machine is the CPU the machine gives a server, so each run also reads the
server's CPU time per call and its run-queue time (runnable, waiting for a CPU): CPU plus run-queue
time close to the run's length means the server was never idle, and its latency is its CPU per call
times the clients queued on it, stretched by the wait.
Without wrk on PATH the httpx client below is the fallback, and the table says so (on 2 cores a
Python load client competes with the server for CPU, so its ratios are not verdicts).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from tests.bench.context import ORDER_HTTP, Bench, Section
from tests.bench.fair import children_cpu_seconds, cpu_seconds, run_queue_seconds
from tests.bench.figures_stdio import MINIMAL, OURS, server_env
from tests.bench.peer import PROTOCOL_VERSION, ROOT, clean_env, free_port
from tests.bench.report import Row, compare, median, percentile

WRK_SCRIPT = ROOT / "tests" / "bench" / "wrk_mcp.lua"
THROUGHPUT_GOAL = 0.9
LOAD_CPU_GOAL = 0.5
"""The load client may use at most half of one core, so the server's core is the limit."""

ACCEPT = "application/json, text/event-stream"


@dataclass(frozen=True, slots=True)
class Load:
    """What a load run saw: good calls, failed calls, seconds, p50/p99 latency (s), CPU seconds, and the
    server's seconds runnable but waiting for a CPU."""

    calls: int
    errors: int
    seconds: float
    p50: float
    p99: float
    client_cpu: float
    server_cpu: float
    bad: str = ""
    server_wait: float = 0.0

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


async def open_sessions(url: str, clients: int) -> list[dict[str, str]]:
    """``clients`` initialized MCP sessions: the headers each one's requests carry."""
    async with httpx.AsyncClient(timeout=30) as http:
        return [await _open_session(http, url) for _ in range(clients)]


async def wrk_load(wrk: str, url: str, sessions: list[dict[str, str]], params: str, seconds: float, pid: int) -> Load:
    """One wrk run (one thread, one connection per session) against ``url``."""
    ids = [h["mcp-session-id"] for h in sessions if "mcp-session-id" in h]
    env = {**os.environ, "WRK_SESSIONS": ",".join(ids), "WRK_PROTOCOL": PROTOCOL_VERSION, "WRK_PARAMS": params}
    command = [wrk, "-t1", f"-c{len(sessions)}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(WRK_SCRIPT),
               "--timeout", "30s", url]  # fmt: skip
    client_before, server_before, wait_before = children_cpu_seconds(), cpu_seconds(pid), run_queue_seconds(pid)
    done = await trio.run_process(command, env=env, capture_stdout=True, capture_stderr=True, check=False)
    client_cpu, server_cpu = children_cpu_seconds() - client_before, cpu_seconds(pid) - server_before
    server_wait = run_queue_seconds(pid) - wait_before
    out = done.stdout.decode("utf-8", "replace")
    line = next((x for x in out.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.decode()[-500:]} {out[-500:]}")
    got = json.loads(line.removeprefix("WRK_JSON "))
    bad = next((x.removeprefix("WRK_BAD ") for x in out.splitlines() if x.startswith("WRK_BAD ")), "")
    failed = got["errors"] + got["socket_errors"]
    seconds_run = got["duration_us"] / 1e6
    return Load(got["requests"] - got["errors"], failed, seconds_run, got["p50_us"] / 1e6, got["p99_us"] / 1e6,
                client_cpu, server_cpu, bad, server_wait)  # fmt: skip


async def load(url: str, tool: str, arguments: Mapping[str, Any], clients: int, seconds: float, pid: int) -> Load:
    """The fallback load client (no wrk): ``clients`` sessions each calling ``tool`` back to back."""
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
        client_before, server_before, wait_before = cpu_seconds(), cpu_seconds(pid), run_queue_seconds(pid)
        async with trio.open_nursery() as nursery:
            for headers in sessions:
                nursery.start_soon(worker, headers)
        elapsed = time.perf_counter() - started
        client_cpu, server_cpu = cpu_seconds() - client_before, cpu_seconds(pid) - server_before
        server_wait = run_queue_seconds(pid) - wait_before
    return Load(len(latencies), errors, elapsed, median(latencies), percentile(latencies, 99), client_cpu, server_cpu,
                server_wait=server_wait)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Served:
    url: str
    pid: int


@asynccontextmanager
async def http_server(command: Sequence[str], env: Mapping[str, str], port: int) -> AsyncIterator[Served]:
    """Start an HTTP server process and wait until its port accepts connections; a server that exits
    first is an error that quotes the end of its standard error."""
    stderr = tempfile.TemporaryFile()  # noqa: SIM115  # closed below, after the process
    process = await trio.lowlevel.open_process(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        env=dict(env),
        cwd=ROOT,
    )
    try:
        with trio.fail_after(30):
            while True:
                if process.poll() is not None:
                    stderr.seek(0)
                    tail = stderr.read()[-2000:].decode(errors="replace")
                    raise RuntimeError(f"{command} exited with {process.returncode}: {tail}")
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", port)
                except OSError:
                    await trio.sleep(0.05)
                    continue
                await stream.aclose()
                break
        yield Served(f"http://127.0.0.1:{port}/mcp", process.pid)
    finally:
        with trio.CancelScope(shield=True):
            process.terminate()
            with trio.move_on_after(10):
                await process.wait()
            if process.poll() is None:
                process.kill()
                await process.wait()
            stderr.close()


SERVERS = ("uvicorn", "uvicorn-json", "hypercorn", "hypercorn-json", "ours")
LABELS = {
    "uvicorn": "minimal SDK server on uvicorn",
    "uvicorn-json": "minimal SDK server on uvicorn, JSON responses",
    "hypercorn": "minimal SDK server on hypercorn-trio",
    "hypercorn-json": "minimal SDK server on hypercorn-trio, JSON responses",
    "ours": "labmcp list_notebooks (cached)",
}
ECHO = ("echo", {"text": "hello"})
CALLS = {name: ECHO for name in SERVERS} | {"ours": ("list_notebooks", {})}


SMOKE_SERVERS = ("uvicorn", "ours")
"""The smoke run (``--quick``) proves the machinery with the baseline and ours only."""


async def _run_series(bench: Bench, served: dict[str, Served], clients: int, wrk: str | None) -> dict[str, list[Load]]:
    plan = bench.plan
    names = tuple(served)
    runs: dict[str, list[Load]] = {name: [] for name in names}
    sessions = {name: await open_sessions(served[name].url, clients) for name in names}
    # forward, backward, forward, backward (ABBA twice): short runs, alternated often, so the shared
    # machine's drifting load falls on every server alike
    rounds = 1 if plan.quick else 4
    for i in range(rounds):
        for name in names if i % 2 == 0 else reversed(names):
            tool, args = CALLS[name]
            if wrk is not None:
                params = json.dumps({"name": tool, "arguments": args}, separators=(",", ":"))
                got = await wrk_load(wrk, served[name].url, sessions[name], params, plan.http_seconds, served[name].pid)
            else:
                got = await load(served[name].url, tool, args, clients, plan.http_seconds, served[name].pid)
            runs[name].append(got)
    return runs


def _rows(clients: int, runs: dict[str, list[Load]], client_name: str) -> list[Row]:
    ours, base, hyper = runs["ours"], runs["uvicorn"], runs.get("hypercorn", [])
    reliable = client_name == "wrk"
    goal = f"≥ {THROUGHPUT_GOAL:g}× uvicorn"
    note = f"calls/s, {len(ours)} alternated runs of {ours[0].seconds:.0f} s, load client {client_name}"
    rows = [
        compare(f"HTTP {clients} clients: throughput, {LABELS['ours']} vs {LABELS['uvicorn']}",
                [r.throughput for r in ours], [r.throughput for r in base], "calls/s", goal,
                note=note, min_ratio=THROUGHPUT_GOAL if reliable else None),
    ]  # fmt: skip
    if "uvicorn-json" in runs:
        rows.append(
            compare(f"HTTP {clients} clients: throughput, {LABELS['ours']} vs {LABELS['uvicorn-json']}",
                    [r.throughput for r in ours], [r.throughput for r in runs["uvicorn-json"]], "calls/s",
                    note="the SDK's best on uvicorn, for reference")
        )  # fmt: skip
    if hyper:
        rows += [
            compare(f"HTTP {clients} clients: throughput, {LABELS['hypercorn']} vs uvicorn (the stack's own limit)",
                    [r.throughput for r in hyper], [r.throughput for r in base], "calls/s", note=note),
            compare(f"HTTP {clients} clients: throughput, {LABELS['ours']} vs the minimal server on hypercorn-trio",
                    [r.throughput for r in ours], [r.throughput for r in hyper], "calls/s", note="same stack"),
        ]  # fmt: skip
    rows += [
        compare(f"HTTP {clients} clients: p99 latency, {LABELS['ours']} vs uvicorn",
                [r.p99 * 1000 for r in ours], [r.p99 * 1000 for r in base], "ms", note="per-run p99"),
        compare(f"HTTP {clients} clients: p50 latency, {LABELS['ours']} vs uvicorn",
                [r.p50 * 1000 for r in ours], [r.p50 * 1000 for r in base], "ms"),
    ]  # fmt: skip
    cpu_goal = 1 / THROUGHPUT_GOAL
    rows += [
        compare(f"HTTP {clients} clients: server CPU per call, {LABELS[name]} vs uvicorn",
                [r.server_cpu / max(r.calls, 1) * 1000 for r in runs[name]],
                [r.server_cpu / max(r.calls, 1) * 1000 for r in base], "ms",
                f"≤ {cpu_goal:.2f}× uvicorn (≥ {THROUGHPUT_GOAL:g}× its calls per CPU-second)" if name == "ours" else "",
                max_ratio=cpu_goal if name == "ours" else None,
                note="CPU time of the server process / good calls: what throughput is on a core of its own")
        for name in ("ours", "uvicorn-json", "hypercorn", "hypercorn-json")
        if name in runs
    ]  # fmt: skip
    runnable = {name: median([(r.server_cpu + r.server_wait) / r.seconds * 100 for r in runs[name]]) for name in runs}
    rows.append(
        compare(f"HTTP {clients} clients: server runnable but waiting for a CPU, {LABELS['ours']} vs uvicorn",
                [r.server_wait / r.seconds * 100 for r in ours], [r.server_wait / r.seconds * 100 for r in base], "%",
                note="% of the run (/proc schedstat); running + waiting: "
                + ", ".join(f"{name} {share:.0f} %" for name, share in runnable.items())
                + " — near 100 % the server never idled: it got less CPU than it could use")
    )  # fmt: skip
    failed = sum(r.errors for r in ours)
    bad = next((r.bad for r in ours if r.bad), "")
    rows.append(
        Row(f"HTTP {clients} clients: failed calls, {LABELS['ours']}", failed, sum(r.errors for r in base), "", "0",
            failed == 0, bad[:120])
    )  # fmt: skip
    every = [r for loads in runs.values() for r in loads]
    client_share = max(r.client_cpu / r.seconds for r in every)
    server_share = median([r.server_cpu / r.seconds for r in ours])
    rows.append(
        Row(f"HTTP {clients} clients: load client CPU ({client_name}, % of one core), worst run", client_share * 100,
            server_share * 100, "%", f"< {LOAD_CPU_GOAL * 100:g} % of a core", client_share < LOAD_CPU_GOAL,
            "baseline column = our server's CPU in its runs (median)")
    )  # fmt: skip
    return rows


async def http(bench: Bench) -> list[Row]:
    wrk = shutil.which("wrk")
    if wrk is None:
        bench.note("HTTP: wrk not found (apt-get install wrk); the httpx load client ran instead: no verdicts.")
    rows: list[Row] = []
    names = SMOKE_SERVERS if bench.plan.quick else SERVERS
    ports = {name: free_port() for name in names}
    env = server_env(bench.fake, LABARCHIVES_REQUEST_INTERVAL="0")  # shipped limits: 32 concurrent requests
    commands = {name: ([*MINIMAL[:2], name, str(ports[name])], clean_env()) for name in names if name != "ours"}
    # Its own health port: the default (8000) may be taken by another labmcp on the machine.
    ours = [*OURS, "--transport", "http", "--port", str(ports["ours"]), "--health-port", str(free_port())]
    commands["ours"] = (ours, env)
    async with contextlib.AsyncExitStack() as stack:
        served = {name: await stack.enter_async_context(http_server(*commands[name], ports[name])) for name in names}
        for clients in bench.plan.http_clients:
            runs = await _run_series(bench, served, clients, wrk)
            rows += _rows(clients, runs, "wrk" if wrk else "httpx (Python)")
    return rows


SECTIONS = (
    Section(
        "http",
        ORDER_HTTP,
        http,
        smoke=(
            "HTTP 4 clients: throughput, labmcp list_notebooks (cached) vs minimal SDK server on uvicorn",
            "HTTP 4 clients: p99 latency",
            "HTTP 4 clients: load client CPU",
        ),
    ),
)
