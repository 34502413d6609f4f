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
from tests.adversarial.hostile import CASES, LIMIT_MIB, add_hostile_lab, run_cases
from tests.adversarial.support import canary_fake
from tests.bench.context import ORDER_MEMORY, Bench, Section
from tests.bench.report import Row
from tests.e2e.helpers import server_env

QUICK_CASES = ("Content-Encoding: br", "UTF-16 billion laughs", "real 64x48 PNG")


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


SECTIONS = (Section("hostile-memory", ORDER_MEMORY + 1, hostile, smoke=("Memory under a hostile upstream",)),)
