"""The benchmarks still run: a tiny `python -m tests.bench --quick` produces every figure with a number."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.bench.report import Row, percentile, table

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = (
    "Start-up: spawn → initialize answered",
    "stdio mode imports an HTTP stack",
    "Memory: idle RSS",
    "Memory: peak RSS",
    "Overhead: read_page",
    "Upstream calls: start-up",
    "Upstream calls: read_page first",
    "Upstream calls: get_attachment repeat",
    "Pacing: 2 concurrent tool calls",
    "Pacing: spacing violations",
    "HTTP 4 clients: throughput, minimal SDK server on hypercorn-trio",
    "HTTP 4 clients: p99 latency, labmcp list_notebooks",
)


def test_quick_run_prints_and_writes_one_table_with_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = out.read_text(encoding="utf-8")
    assert written == done.stdout
    assert written.startswith("Machine: ")
    rows = [line for line in written.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    for figure in EXPECTED:
        matching = [row for row in rows if figure in row]
        assert matching, f"no row for {figure!r}"
        ours = matching[0].split(" | ")[1]
        assert re.match(r"^(\d+(\.\d+)?|none|[a-z0-9_, ]+)( [A-Za-z/]+)?$", ours), matching[0]
    assert "nan" not in written


def test_table_marks_failed_goals_plainly_and_missing_values_with_a_dash() -> None:
    rows = [
        Row("a", 2.0, 4.0, "ms", "≤ baseline", True),
        Row("b", 5, 0, "", "0", False, "note"),
        Row("c", "none", None),
    ]
    text = table(rows)
    assert "| a | 2 ms | 4 ms | 0.50× | ≤ baseline | yes |" in text
    assert "| b (note) | 5 | 0 | – | 0 | **no** |" in text
    assert "| c | none | – | – | – | – |" in text


def test_percentile_is_nearest_rank() -> None:
    sample = [float(i) for i in range(1, 101)]
    assert percentile(sample, 50) == 50.0
    assert percentile(sample, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
