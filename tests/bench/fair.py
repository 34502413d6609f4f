"""Fair comparisons: A/B runs alternated so drift hits both sides alike, and CPU accounting of processes.

On a shared 2-core machine a figure measured in one batch and its baseline in another batch can
differ by 50 % for reasons that have nothing to do with either (the pyz first runs once read 1.24x
batched and 0.82x alternated). So every A/B figure here alternates, in ABBA order (A first in even
rounds, B first in odd ones) so neither side always runs on a machine the other just warmed.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

Measure = Callable[[], Awaitable[float]]


async def alternate(ours: Measure, base: Measure, runs: int, warmup: bool = False) -> tuple[list[float], list[float]]:
    """``runs`` samples of each side, ABBA-alternated; one unrecorded run of each first when ``warmup``."""
    if warmup:
        await ours()
        await base()
    ours_samples: list[float] = []
    base_samples: list[float] = []
    for i in range(runs):
        if i % 2 == 0:
            ours_samples.append(await ours())
            base_samples.append(await base())
        else:
            base_samples.append(await base())
            ours_samples.append(await ours())
    return ours_samples, base_samples


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds a process (default: this one) has used, children not included."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15 of stat)


def run_queue_seconds(pid: int) -> float:
    """Seconds the process's main thread has spent runnable but waiting for a CPU (/proc schedstat).

    On a shared machine this is what separates "the server was idle" from "the server was starved":
    CPU time plus run-queue time equal to the wall time means it never waited for anything else."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0  # kernels without schedstats: the row then reads 0


def children_cpu_seconds() -> float:
    """CPU seconds of this process's waited-for children (e.g. a finished ``wrk``)."""
    times = os.times()
    return times.children_user + times.children_system
