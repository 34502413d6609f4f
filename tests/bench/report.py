"""Pure helpers: one row per figure, ratios, goal checks, the Markdown table and the machine line."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Row:
    """One figure: our value against a baseline measured in the same run, and whether the goal holds."""

    figure: str
    ours: float | str
    baseline: float | str | None
    unit: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""
    ours_range: tuple[float, float] | None = None
    """(min, max) of the samples behind ``ours`` when it is a median."""
    base_range: tuple[float, float] | None = None

    @property
    def ratio(self) -> float | None:
        if isinstance(self.ours, (int, float)) and isinstance(self.baseline, (int, float)) and self.baseline:
            return float(self.ours) / float(self.baseline)
        return None


def compare(
    figure: str,
    ours: Sequence[float],
    base: Sequence[float],
    unit: str = "",
    goal: str = "",
    max_ratio: float | None = None,
    note: str = "",
    met: bool | None = None,
    min_ratio: float | None = None,
) -> Row:
    """Medians of two samples taken in the same run, with their (min, max); the goal holds when
    ours / baseline <= ``max_ratio`` (times, memory) or >= ``min_ratio`` (throughput); without
    either the verdict is ``met`` (e.g. an absolute goal)."""
    ours_med, base_med = median(ours), median(base)
    if max_ratio is not None and base_med:
        met = ours_med / base_med <= max_ratio
    if min_ratio is not None and base_med:
        met = ours_med / base_med >= min_ratio
    return Row(
        figure,
        ours_med,
        base_med,
        unit,
        goal,
        met,
        note,
        (min(ours), max(ours)) if len(ours) > 1 else None,
        (min(base), max(base)) if len(base) > 1 else None,
    )


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sample."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def _fmt(value: float | str | None, unit: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if float(value).is_integer() and abs(value) < 1e6:
        text = str(int(value))
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip()


def _cell(value: float | str | None, unit: str, spread: tuple[float, float] | None) -> str:
    text = _fmt(value, unit)
    if spread is not None:
        text += f" ({_fmt(spread[0], '')}–{_fmt(spread[1], '')})"
    return text


VERDICT = {True: "met", False: "**not met**", None: "–"}


def table(rows: Iterable[Row]) -> str:
    """The Markdown table `make bench` prints and the README shows; medians carry their (min-max)."""
    lines = [
        "| figure | ours (min–max) | baseline (min–max) | ratio | goal | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "–"
        figure = row.figure + (f" ({row.note})" if row.note else "")
        ours = _cell(row.ours, row.unit, row.ours_range)
        base = _cell(row.baseline, row.unit, row.base_range)
        lines.append(f"| {figure} | {ours} | {base} | {ratio} | {row.goal or '–'} | {VERDICT[row.met]} |")
    return "\n".join(lines)


def machine() -> str:
    """CPU model, cores, memory and Python: the context every figure needs."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.1f} GiB RAM"
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
        f"CPython {platform.python_version()} ({sys.executable})"
    )
