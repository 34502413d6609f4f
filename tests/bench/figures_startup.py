"""Start-up, imports and idle memory of ``python -m labmcp`` on stdio against the minimal SDK server.

One spawn gives both figures: spawn → ``initialize`` answered (what a host waits for), then
``tools/list`` and, for ours, the end of start-up (clock sync, uid, scope), then VmRSS (idle RSS).
Ours and the baseline alternate (ABBA), so drift on a shared machine hits both alike.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tests.bench.context import ORDER_MEMORY, ORDER_STARTUP, Bench, Section
from tests.bench.fair import alternate
from tests.bench.figures_stdio import LARGEST_PAGE, MINIMAL, OURS, demo_ids, server_env
from tests.bench.peer import clean_env, proc_status, spawn, time_to_first_data, wait_started
from tests.bench.report import Row, compare

HTTP_STACKS = ("hypercorn", "starlette", "uvicorn", "sse_starlette", "h2", "wsproto", "click", "multipart")
"""Top-level packages of an HTTP server stack: none may load on the stdio path (issue 20)."""
RSS_GOAL_MIB = 64.0


@dataclass(frozen=True, slots=True)
class Start:
    """One spawn: seconds to the ``initialize`` answer, idle RSS (MiB) once start-up is done."""

    seconds: float
    idle_mib: float


async def start_once(command: Sequence[str], env: Mapping[str, str], ours: bool) -> Start:
    """Spawn, time ``initialize``, then settle (tools/list; ours: start-up done) and read VmRSS."""
    started = time.perf_counter()
    async with spawn(command, env) as peer:
        await peer.initialize()
        seconds = time.perf_counter() - started
        await peer.request("tools/list")
        if ours:
            await wait_started(peer)
        return Start(seconds, proc_status(peer.pid)["VmRSS"])


async def startup_and_memory(
    bench: Bench, label: str, ours_command: Sequence[str], ours_env: Mapping[str, str]
) -> tuple[list[Start], list[Start]]:
    plan = bench.plan
    base_env = clean_env()
    ours: list[Start] = []
    base: list[Start] = []

    async def one_ours() -> float:
        ours.append(await start_once(ours_command, ours_env, True))
        return ours[-1].seconds

    async def one_base() -> float:
        base.append(await start_once(MINIMAL, base_env, False))
        return base[-1].seconds

    await alternate(one_ours, one_base, plan.runs, plan.warmup)
    if plan.warmup:  # the warm-up samples are not figures
        ours, base = ours[1:], base[1:]
    return ours, base


def startup_rows(label: str, ours: list[Start], base: list[Start], runs: int) -> list[Row]:
    """Start-up (goal: ratio ≤ 1.0) and idle RSS (goal absolute: every sample under 64 MiB)."""
    worst_rss = max(s.idle_mib for s in ours)
    return [
        compare(
            f"Start-up: spawn → initialize answered, {label}",
            [s.seconds * 1000 for s in ours],
            [s.seconds * 1000 for s in base],
            "ms",
            "≤ 1.0× minimal server",
            1.0,
            f"median of {runs}, ABBA-alternated with the minimal SDK server",
        ),
        compare(
            f"Memory: idle RSS after initialize and start-up, {label}",
            [s.idle_mib for s in ours],
            [s.idle_mib for s in base],
            "MiB",
            f"< {RSS_GOAL_MIB:g} MiB (every run)",
            note=f"VmRSS, median of {runs}",
            met=worst_rss < RSS_GOAL_MIB,
        ),
    ]


async def startup(bench: Bench) -> list[Row]:
    env = server_env(bench.fake, LABARCHIVES_REQUEST_INTERVAL="0")
    ours, base = await startup_and_memory(bench, "`python -m labmcp`", OURS, env)
    rows = startup_rows("`python -m labmcp`", ours, base, bench.plan.runs)
    if bench.plan.paced_startup:
        paced_ms = await time_to_first_data(OURS, server_env(bench.fake)) * 1000
        note = "one run; epoch_time, then user_access_info waits its 1 s turn; baseline = initialize only"
        rows.append(
            Row("Start-up to the first notebook data, default 1 s request interval", paced_ms, rows[0].baseline, "ms",
                note=note)
        )  # fmt: skip
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


def http_modules(modules: Mapping[str, tuple[int, int]] | Sequence[str]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HTTP_STACKS})


def top_imports(modules: Mapping[str, tuple[int, int]], count: int = 8) -> list[tuple[str, int]]:
    """Top-level packages by cumulative import time (µs), for saying what dominates start-up."""
    tops = {name: cum for name, (_, cum) in modules.items() if "." not in name}
    return sorted(tops.items(), key=lambda item: -item[1])[:count]


async def imports(bench: Bench) -> list[Row]:
    ours = await imported_modules(OURS, server_env(bench.fake, LABARCHIVES_REQUEST_INTERVAL="0"))
    base = {} if bench.plan.quick else await imported_modules(MINIMAL, clean_env())  # smoke: ours only
    ours_http, base_http = http_modules(ours), http_modules(base)
    tops = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in top_imports(ours))
    bench.note(f"Slowest top-level imports of `python -m labmcp` (cumulative, -X importtime): {tops}")
    return [
        Row(
            "stdio mode imports an HTTP stack (hypercorn, starlette, uvicorn, h2, click, …)",
            ", ".join(ours_http) or "none",
            (", ".join(base_http) or "none") if base else None,
            goal="none",
            met=not ours_http,
            note="-X importtime",
        ),
        Row("Modules imported on stdio up to tools/list", len(ours), len(base) or None, note="-X importtime"),
    ]


async def peak(bench: Bench) -> list[Row]:
    """Peak RSS (VmHWM) after reading the largest demo page in full, against the minimal server echoing as much."""
    ids = demo_ids(bench.fake)
    async with spawn(OURS, server_env(bench.fake, LABARCHIVES_REQUEST_INTERVAL="0")) as peer:
        await peer.initialize()
        await wait_started(peer)
        start: int | None = 0
        pieces = 0
        while start is not None:
            args = {"notebook_id": ids.nbid, "page_id": ids.largest_page, "start_index": start}
            result = await peer.call_tool("read_page", args)
            start = result["structuredContent"]["next_start_index"]
            pieces += 1
        ours = proc_status(peer.pid)["VmHWM"]
    base: float | None = None
    if not bench.plan.quick:  # the smoke run proves the measuring, not the baseline
        async with spawn(MINIMAL, clean_env()) as peer:
            await peer.initialize()
            await peer.call_tool("echo", {"text": "x" * 200_000})
            base = proc_status(peer.pid)["VmHWM"]
    return [
        Row(
            "Memory: peak RSS (VmHWM) after reading the largest page",
            ours,
            base,
            "MiB",
            "< 128 MiB (limit)",
            ours < 128,
            f"{LARGEST_PAGE!r}, ~200 KB HTML, {pieces} pieces; baseline echoes 200 KB",
        )
    ]


SECTIONS = (
    Section(
        "start-up",
        ORDER_STARTUP,
        startup,
        smoke=("Start-up: spawn → initialize answered, `python -m labmcp`", "Memory: idle RSS after initialize"),
    ),
    Section("imports", ORDER_STARTUP + 1, imports, smoke=("stdio mode imports an HTTP stack",)),
    Section("peak-memory", ORDER_MEMORY, peak, smoke=("Memory: peak RSS",)),
)
