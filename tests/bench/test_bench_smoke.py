"""The benchmarks still run: a tiny `python -m tests.bench --quick` produces every figure with a number."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.bench.report import Row, compare, percentile, table
from tests.bench.run import sections

ROOT = Path(__file__).resolve().parents[2]


def test_quick_run_prints_and_writes_one_table_with_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.md"
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    written = out.read_text(encoding="utf-8")
    assert written == done.stdout
    assert written.startswith("Machine: ")
    rows = [line for line in written.splitlines() if line.startswith("| ") and not line.startswith("| figure")]
    expected = [figure for section in sections() for figure in section.smoke]
    assert len(expected) >= 10, expected
    assert "| Section '" not in written, "a bench section raised (its row names the exception)"
    for figure in expected:
        matching = [row for row in rows if figure in row]
        assert matching, f"no row for {figure!r}"
        ours = matching[0].split(" | ")[1]
        assert re.match(r"^(\d+(\.\d+)?|none|[a-z0-9_, ]+)( [A-Za-z/%]+)?( \(.+\))?$", ours), matching[0]
    assert "nan" not in written


def test_table_marks_failed_goals_plainly_and_missing_values_with_a_dash() -> None:
    rows = [
        Row("a", 2.0, 4.0, "ms", "≤ baseline", True),
        Row("b", 5, 0, "", "0", False, "note"),
        Row("c", "none", None),
    ]
    text = table(rows)
    assert "| a | 2 ms | 4 ms | 0.50× | ≤ baseline | met |" in text
    assert "| b (note) | 5 | 0 | – | 0 | **not met** |" in text
    assert "| c | none | – | – | – | – |" in text


def test_compared_samples_show_median_and_range_and_judge_the_ratio() -> None:
    row = compare("start", [3.0, 1.0, 2.0], [2.0, 2.5, 1.5], "ms", "≤ 1.0×", 1.0)
    assert (row.ours, row.baseline, row.met) == (2.0, 2.0, True)
    assert "| start | 2 ms (1–3) | 2 ms (1.50–2.50) | 1.00× | ≤ 1.0× | met |" in table([row])
    assert compare("slower", [3.0], [2.0], "ms", max_ratio=1.0).met is False


def test_percentile_is_nearest_rank() -> None:
    sample = [float(i) for i in range(1, 101)]
    assert percentile(sample, 50) == 50.0
    assert percentile(sample, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
