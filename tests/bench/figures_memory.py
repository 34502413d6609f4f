"""Memory under a hostile LabArchives: one row per case, the server's peak RSS against the 128 MiB limit.

The cases are the adversarial suite's (``tests/adversarial/hostile.py``): compression bombs,
declared encodings, lying types and sizes, large legitimate bodies, a full cache, an echoing error
page and a made-up id among 600 folders, against the real server with default settings (pacing
off). Each row is that case's peak (VmHWM, reset before the case) next to the RSS the same process
had just before it (the baseline: ratio = growth); the goal is the pod's limit.
"""

from __future__ import annotations

import trio

from labmcp.fake import FakeLabArchives
from tests.adversarial.hostile import CASES, LIMIT_MIB, add_hostile_lab, peak_mib, reset_peak, run_cases
from tests.adversarial.support import canary_fake
from tests.bench.context import ORDER_MEMORY, Bench, Section
from tests.bench.figures_http import http_server
from tests.bench.figures_stdio import OURS
from tests.bench.figures_stdio import server_env as bench_env
from tests.bench.peer import free_port
from tests.bench.report import Row
from tests.e2e.helpers import server_env

QUICK_CASES = ("Content-Encoding: br", "UTF-16 billion laughs", "real 64x48 PNG")
IDLE_CONNECTIONS = 3_000


async def hostile(bench: Bench) -> list[Row]:
    fake: FakeLabArchives = canary_fake()
    lab = add_hostile_lab(fake)
    cases = tuple(c for c in CASES if c.name in QUICK_CASES) if bench.plan.quick else CASES
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        run = await run_cases(fake, lab, server_env(fake), cases)
        nursery.cancel_scope.cancel()
    goal = f"< {LIMIT_MIB:g} MiB (limit)"
    rows = [Row("Memory under a hostile upstream: after start-up", run.start_peak_mib, None, "MiB", goal,
                run.start_peak_mib < LIMIT_MIB, "VmHWM")]  # fmt: skip
    for o in run.outcomes:
        met = o.ok and o.serving and o.peak_mib < LIMIT_MIB
        note = o.answer[:90] if o.ok else o.answer[:200]
        rows.append(Row(f"Memory under a hostile upstream: {o.name}", round(o.peak_mib, 1), round(o.before_mib, 1),
                        "MiB", goal, met, note))  # fmt: skip
    bench.note(
        "Hostile-upstream memory rows: peak RSS (VmHWM reset before each case) of one server process with "
        "default settings; baseline = its RSS just before the case; the note is what the assistant got."
    )
    return rows


async def idle_connections(bench: Bench) -> list[Row]:
    """Thousands of TCP connections to the MCP port that never send a byte: the server's peak RSS.

    The last connection then sends a request and waits for its answer: the server accepts in order,
    so by then it holds every connection before it.
    """
    count = 50 if bench.plan.quick else IDLE_CONNECTIONS
    port = free_port()
    command = [*OURS, "--transport", "http", "--port", str(port), "--health-port", str(free_port())]
    async with http_server(command, bench_env(bench.fake, LABARCHIVES_REQUEST_INTERVAL="0"), port) as served:
        reset_peak(served.pid)
        before = peak_mib(served.pid)
        streams = [await trio.open_tcp_stream("127.0.0.1", port) for _ in range(count)]
        try:
            last = streams[-1]
            await last.send_all(b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            with trio.fail_after(60):
                answered = await last.receive_some(4096)
            peak = peak_mib(served.pid)
        finally:
            for stream in streams:
                await stream.aclose()
    met = peak < LIMIT_MIB and answered.startswith(b"HTTP/1.1")
    return [Row(f"Memory: {count:,} idle HTTP connections", round(peak, 1), round(before, 1), "MiB",
                f"< {LIMIT_MIB:g} MiB (limit)", met, "VmHWM; baseline = RSS before connecting")]  # fmt: skip


SECTIONS = (
    Section("hostile-memory", ORDER_MEMORY + 1, hostile, smoke=("Memory under a hostile upstream",)),
    Section("idle-connections", ORDER_MEMORY + 2, idle_connections, smoke=("Memory: 50 idle HTTP connections",)),
)
