"""Figures over stdio against an in-process fake: start-up, imports, memory, overhead, economy, pacing."""

from __future__ import annotations

import itertools
import re
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import trio

from labmcp.fake.serve import FakeLabArchives, LoggedRequest
from labmcp.labarchives import protocol
from tests.bench.peer import ROOT, clean_env, proc_status, spawn, time_to_first_data, time_to_initialize, wait_started
from tests.bench.report import Row, median

OURS = (sys.executable, "-m", "labmcp")
MINIMAL = (sys.executable, str(ROOT / "tests" / "bench" / "minimal_server.py"), "stdio")
HTTP_STACKS = ("hypercorn", "starlette", "uvicorn", "sse_starlette", "h2", "wsproto", "multipart")
LARGEST_PAGE = "Live-cell imaging report"
OVERHEAD_PAGE = "Standard PCR protocol"
DEEP_PAGE = "PCR colony screen"
ATTACHMENT = "plate_reader_A450.csv"


def server_env(fake: FakeLabArchives, **extra: str) -> dict[str, str]:
    """Our server pointed at the fake as the demo user (email + token, as a real user configures it)."""
    creds = fake.credentials
    env = clean_env(
        LABARCHIVES_API_BASE=fake.base_url,
        LABARCHIVES_AKID=creds.akid,
        LABARCHIVES_SECRET=creds.password,
        LABARCHIVES_USER=creds.email,
        LABARCHIVES_TOKEN=creds.token.reveal(),
        LABARCHIVES_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class DemoIds:
    """Ids in the demo lab that the figures need, read from the fake's store (no upstream calls)."""

    nbid: str
    largest_page: str
    overhead_page: str
    deep_page: str
    attachment_eid: str


def demo_ids(fake: FakeLabArchives) -> DemoIds:
    store = fake.store
    nbid = next(nb.nbid for nb in store.notebooks.values() if fake.credentials.uid in nb.default_for)
    page = {node.display_text: node.tree_id for node in store.nodes.values() if node.nbid == nbid and node.is_page}
    eid = next(e.eid for e in store.entries.values() if e.attach_file_name == ATTACHMENT)
    return DemoIds(nbid, page[LARGEST_PAGE], page[OVERHEAD_PAGE], page[DEEP_PAGE], eid)


async def startup(fake: FakeLabArchives, runs: int, warmup: bool, paced: bool = True) -> list[Row]:
    """Spawn -> initialize answered, interleaving ours and the baseline so drift hits both alike."""
    ours_env = server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0")
    paced_env = server_env(fake)
    base_env = clean_env()
    if warmup:
        await time_to_initialize(OURS, ours_env)
        await time_to_initialize(MINIMAL, base_env)
    ours: list[float] = []
    base: list[float] = []
    for _ in range(runs):
        ours.append(await time_to_initialize(OURS, ours_env))
        base.append(await time_to_initialize(MINIMAL, base_env))
    ours_ms, base_ms = median(ours) * 1000, median(base) * 1000
    rows = [
        Row(
            "Start-up: spawn → initialize answered, `python -m labmcp`",
            ours_ms,
            base_ms,
            "ms",
            "≤ baseline",
            ours_ms <= base_ms,
            f"median of {runs}; against a pre-started fake; clock sync + uid lookup run beside the transport",
        )
    ]
    if paced:
        paced_ms = await time_to_first_data(OURS, paced_env) * 1000
        note = "one run; epoch_time, then user_access_info waits its 1 s turn; baseline = initialize only"
        rows.append(
            Row("Start-up to the first notebook data, default 1 s request interval", paced_ms, base_ms, "ms", note=note)
        )
    return rows


def _parse_importtime(text: str) -> dict[str, tuple[int, int]]:
    """Module -> (self µs, cumulative µs) from ``-X importtime`` output."""
    out: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s+(.*)$", line)
        if match:
            out[match.group(3).strip()] = (int(match.group(1)), int(match.group(2)))
    return out


async def imported_modules(command: Sequence[str], env: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """What a stdio server imports up to answering ``initialize`` and one ``tools/list``."""
    with tempfile.TemporaryFile() as err:
        async with spawn([command[0], "-X", "importtime", *command[1:]], env, stderr=err.fileno()) as peer:
            await peer.initialize()
            await peer.request("tools/list")
        err.seek(0)
        return _parse_importtime(err.read().decode("utf-8", "replace"))


def _http_modules(modules: Mapping[str, tuple[int, int]]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HTTP_STACKS})


async def imports(fake: FakeLabArchives) -> tuple[list[Row], dict[str, tuple[int, int]]]:
    ours = await imported_modules(OURS, server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0"))
    base = await imported_modules(MINIMAL, clean_env())
    ours_http, base_http = _http_modules(ours), _http_modules(base)
    row = Row(
        "stdio mode imports an HTTP stack (hypercorn, starlette, uvicorn, …)",
        ", ".join(ours_http) or "none",
        ", ".join(base_http) or "none",
        goal="none",
        met=not ours_http,
        note=f"-X importtime: {len(ours)} vs {len(base)} modules",
    )
    return [row], ours


async def memory(fake: FakeLabArchives, ids: DemoIds) -> list[Row]:
    """Idle RSS after initialize; peak RSS (VmHWM) after reading the largest demo page in full."""
    async with spawn(OURS, server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0")) as peer:
        await peer.initialize()
        await peer.request("tools/list")
        await wait_started(peer)
        idle = proc_status(peer.pid)["VmRSS"]
        start: int | None = 0
        pieces = 0
        while start is not None:
            args = {"notebook_id": ids.nbid, "page_id": ids.largest_page, "start_index": start}
            result = await peer.call_tool("read_page", args)
            start = result["structuredContent"]["next_start_index"]
            pieces += 1
        peak = proc_status(peer.pid)["VmHWM"]
    async with spawn(MINIMAL, clean_env()) as peer:
        await peer.initialize()
        await peer.request("tools/list")
        base_idle = proc_status(peer.pid)["VmRSS"]
        await peer.call_tool("echo", {"text": "x" * 200_000})
        base_peak = proc_status(peer.pid)["VmHWM"]
    return [
        Row("Memory: idle RSS after initialize", idle, base_idle, "MiB", "< 64 MiB", idle < 64),
        Row(
            "Memory: peak RSS (VmHWM) after reading the largest page",
            peak,
            base_peak,
            "MiB",
            "< 128 MiB (limit)",
            peak < 128,
            f"{LARGEST_PAGE!r}, ~200 KB HTML, {pieces} pieces; baseline echoes 200 KB",
        ),
    ]


async def _replay(http: httpx.AsyncClient, fake: FakeLabArchives, calls: Sequence[LoggedRequest]) -> float:
    """Seconds for the same upstream calls made directly with httpx (signed, same keep-alive client)."""
    creds = fake.credentials
    started = time.perf_counter()
    for logged in calls:
        params = {k: v for k, v in logged.params.items() if k not in ("akid", "expires")}
        call = protocol.Call.of(logged.api_class, logged.api_method, params)
        url = protocol.build_url(fake.base_url, call, creds.akid, creds.password, time.time_ns() // 1_000_000)
        reply = await http.get(url)
        assert reply.status_code == 200, reply.status_code
    return time.perf_counter() - started


async def overhead(fake: FakeLabArchives, ids: DemoIds, iterations: int) -> list[Row]:
    """Tool call wall time minus the same upstream calls made raw; caches off so every call goes upstream."""
    env = server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0", LABARCHIVES_CACHE_TTL="0")
    args = {"notebook_id": ids.nbid, "page_id": ids.overhead_page}
    tool: list[float] = []
    raw: list[float] = []
    upstream_per_call = 0
    async with httpx.AsyncClient() as http, spawn(OURS, env) as peer:
        await peer.initialize()
        await wait_started(peer)
        for i in range(iterations + 3):
            mark = len(fake.log)
            started = time.perf_counter()
            await peer.call_tool("read_page", args)
            elapsed = time.perf_counter() - started
            calls = fake.log[mark:]
            replayed = await _replay(http, fake, calls)
            if i >= 3:  # the first calls warm up imports and connections
                tool.append(elapsed)
                raw.append(replayed)
                upstream_per_call = len(calls)
    cached: list[float] = []
    async with spawn(OURS, server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0")) as peer:
        await peer.initialize()
        for i in range(iterations + 3):
            started = time.perf_counter()
            await peer.call_tool("read_page", args)
            if i >= 3:  # the first call fills the caches
                cached.append(time.perf_counter() - started)
    async with spawn(MINIMAL, clean_env()) as peer:
        await peer.initialize()
        floor: list[float] = []
        for i in range(iterations + 3):
            started = time.perf_counter()
            await peer.call_tool("echo", {"text": "x"})
            if i >= 3:
                floor.append(time.perf_counter() - started)
    added = (median(tool) - median(raw)) * 1000
    return [
        Row(
            "Overhead: read_page wall time minus the same upstream calls made raw",
            added,
            median(floor) * 1000,
            "ms",
            "< 1 ms",
            added < 1,
            f"median of {iterations}; {upstream_per_call} upstream calls per read with caches off; "
            f"tool {median(tool) * 1000:.2f} ms, raw {median(raw) * 1000:.2f} ms; "
            "baseline = a trivial tool's whole round trip on the minimal server",
        ),
        Row(
            "Overhead: read_page answered from the cache (no upstream call), whole round trip",
            median(cached) * 1000,
            median(floor) * 1000,
            "ms",
            note=f"median of {iterations}; vs the minimal server's trivial tool",
        ),
    ]


OPERATIONS = ("list_notebooks", "browse_notebook", "read_page", "search", "get_attachment")


def _operation_args(ids: DemoIds) -> dict[str, dict[str, Any]]:
    return {
        "list_notebooks": {},
        "browse_notebook": {"notebook_id": ids.nbid},
        "read_page": {"notebook_id": ids.nbid, "page_id": ids.deep_page},
        "search": {"query": "PCR", "notebook_id": ids.nbid},
        "get_attachment": {"notebook_id": ids.nbid, "page_id": ids.deep_page, "entry_id": ids.attachment_eid},
    }


async def _count_calls(fake: FakeLabArchives, env: Mapping[str, str], ids: DemoIds) -> dict[str, list[str]]:
    """Upstream methods called by start-up and by each operation, first and repeated, in a user's order."""
    counts: dict[str, list[str]] = {}
    mark = len(fake.log)
    async with spawn(OURS, env) as peer:
        await peer.initialize()
        await wait_started(peer)
        counts["start-up"] = [r.api_method for r in fake.log[mark:]]
        for name, args in _operation_args(ids).items():
            for label in ("first", "repeat"):
                mark = len(fake.log)
                await peer.call_tool(name, args)
                counts[f"{name} {label}"] = [r.api_method for r in fake.log[mark:]]
    return counts


def _describe(methods: Sequence[str]) -> str:
    tally: dict[str, int] = {}
    for m in methods:
        tally[m] = tally.get(m, 0) + 1
    return ", ".join(f"{m}×{n}" if n > 1 else m for m, n in tally.items())


async def economy(fake: FakeLabArchives, ids: DemoIds) -> list[Row]:
    """Calls per operation with the cache (ours) against the same server with caches off (baseline)."""
    ours = await _count_calls(fake, server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0"), ids)
    naive = await _count_calls(fake, server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0", LABARCHIVES_CACHE_TTL="0"), ids)
    rows = []
    for key, methods in ours.items():
        if key == "start-up":
            goal, met = "–", None
        elif key.endswith("repeat"):
            goal, met = "0", len(methods) == 0
        else:
            goal, met = "1", len(methods) <= 1
        rows.append(
            Row(
                f"Upstream calls: {key}",
                len(methods),
                len(naive[key]),
                "",
                goal,
                met,
                _describe(methods) if methods else "",
            )
        )
    return rows


async def pacing(fake: FakeLabArchives, n: int, interval: float = 1.0) -> list[Row]:
    """N concurrent tool calls right after a paced call: wall time against N x interval; gaps in the fake's log."""
    env = server_env(fake) if interval == 1.0 else server_env(fake, LABARCHIVES_REQUEST_INTERVAL=str(interval))
    arrivals: list[float] = []
    inner = fake.handler.handle

    def stamped(request: Any, now_ms: int) -> Any:
        # The fake logs after handling; stamp arrival instead, so handling time does not blur the gaps.
        arrivals.append(time.monotonic())
        return inner(request, now_ms)

    async with spawn(OURS, env) as peer:
        await peer.initialize()
        setattr(fake.handler, "handle", stamped)  # noqa: B010  # instance-level wrap, undone below
        try:
            await peer.call_tool("search", {"query": "bench-warmup-nohit"})
            started = time.perf_counter()
            ids = [
                await peer.send_request("tools/call", {"name": "search", "arguments": {"query": f"nohit-{i}"}})
                for i in range(n)
            ]
            for request_id in ids:
                await peer.answer(request_id)
            wall = time.perf_counter() - started
        finally:
            delattr(fake.handler, "handle")
    times = arrivals
    gaps = [b - a for a, b in itertools.pairwise(times)]
    violations = sum(1 for g in gaps if g < interval * 0.995)
    ideal = n * interval
    return [
        Row(
            f"Pacing: {n} concurrent tool calls at a {interval:g} s interval, wall time",
            wall,
            ideal,
            "s",
            "within 5 % of N × interval",
            abs(wall - ideal) <= 0.05 * ideal,
            "sent right after a paced call; baseline = N × interval",
        ),
        Row(
            "Pacing: spacing violations at the fake (arrival gap < 0.995 × interval)",
            violations,
            0,
            "",
            "0",
            violations == 0,
            f"{len(gaps)} gaps, smallest {min(gaps):.3f} s" if gaps else "no gaps",
        ),
    ]


async def with_fake(work: Any) -> Any:
    """Run ``work(fake)`` with the demo fake served from this process."""
    fake = FakeLabArchives.demo()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        try:
            return await work(fake)
        finally:
            nursery.cancel_scope.cancel()


def top_imports(modules: Mapping[str, tuple[int, int]], count: int = 8) -> list[tuple[str, int]]:
    """Top-level packages by cumulative import time (µs), for saying what dominates start-up."""
    tops = {name: cum for name, (_, cum) in modules.items() if "." not in name}
    return sorted(tops.items(), key=lambda item: -item[1])[:count]
