"""``python -m tests.bench``: every figure, ours against a baseline from the same run, as one Markdown table."""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import trio

from labmcp.fake.serve import FakeLabArchives
from tests.bench import figures_http, figures_pyz, figures_stdio
from tests.bench.peer import ROOT
from tests.bench.report import Row, machine, table

DEFAULT_OUT = ROOT / ".venv" / "bench-results.md"


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to measure: the full run (a few minutes) or the smoke run inside `make test`."""

    runs: int
    warmup: bool
    iterations: int
    pacing_calls: int
    http_clients: int
    http_seconds: float
    pyz: bool
    pacing_interval: float = 1.0
    paced_startup: bool = True

    @classmethod
    def full(cls) -> Plan:
        return cls(runs=11, warmup=True, iterations=100, pacing_calls=5, http_clients=32, http_seconds=8.0, pyz=True)

    @classmethod
    def quick(cls) -> Plan:
        return cls(
            runs=1,
            warmup=False,
            iterations=5,
            pacing_calls=2,
            http_clients=4,
            http_seconds=0.3,
            pyz=False,
            pacing_interval=0.2,
            paced_startup=False,
        )


async def measure(plan: Plan, notes: list[str]) -> list[Row]:
    """Every section in turn against one demo fake served from this process; notes get each section's time."""
    fake = FakeLabArchives.demo()
    rows: list[Row] = []
    timings: list[str] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        ids = figures_stdio.demo_ids(fake)

        async def section(name: str, work: Awaitable[list[Row]]) -> list[Row]:
            started = time.perf_counter()
            got = await work
            timings.append(f"{name} {time.perf_counter() - started:.0f} s")
            rows.extend(got)
            return got

        startup = await section("start-up", figures_stdio.startup(fake, plan.runs, plan.warmup, plan.paced_startup))
        started = time.perf_counter()
        import_rows, modules = await figures_stdio.imports(fake)
        rows.extend(import_rows)
        timings.append(f"imports {time.perf_counter() - started:.0f} s")
        tops = ", ".join(f"{name} {us / 1000:.0f} ms" for name, us in figures_stdio.top_imports(modules))
        notes.append(f"Slowest top-level imports of `python -m labmcp` (cumulative, -X importtime): {tops}")
        await section("memory", figures_stdio.memory(fake, ids))
        await section("overhead", figures_stdio.overhead(fake, ids, plan.iterations))
        await section("economy", figures_stdio.economy(fake, ids))
        await section("pacing", figures_stdio.pacing(fake, plan.pacing_calls, plan.pacing_interval))
        await section("http", figures_http.http_figures(fake, plan.http_clients, plan.http_seconds))
        if plan.pyz:
            minimal_ms = startup[0].baseline if isinstance(startup[0].baseline, float) else None
            started = time.perf_counter()
            pyz_rows, pyz_log = await figures_pyz.pyz_figures(fake, 3, plan.runs, minimal_ms)
            rows.extend(pyz_rows)
            notes.extend(pyz_log)
            timings.append(f"pyz {time.perf_counter() - started:.0f} s")
        nursery.cancel_scope.cancel()
    notes.append("Section times: " + ", ".join(timings))
    return rows


def render(rows: Sequence[Row], notes: Sequence[str], seconds: float, command: str) -> str:
    lines = [
        f"Machine: {machine()}",
        "",
        table(rows),
        "",
        *(f"- {note}" for note in notes),
        f"- `{command}` took {seconds:.0f} s on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny run that proves the benchmarks still work")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"where to write the table (default {DEFAULT_OUT})"
    )
    parser.add_argument("--no-pyz", action="store_true", help="skip the pyz and shiv figures")
    args = parser.parse_args(argv)
    plan = Plan.quick() if args.quick else Plan.full()
    if args.no_pyz:
        plan = replace(plan, pyz=False)
    notes: list[str] = []
    started = time.perf_counter()
    rows = trio.run(measure, plan, notes)
    command = "python -m tests.bench" + (" --quick" if args.quick else "") + (" --no-pyz" if args.no_pyz else "")
    text = render(rows, notes, time.perf_counter() - started, command)
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0
