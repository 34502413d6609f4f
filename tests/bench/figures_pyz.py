"""The pyz against shiv packing the same site-packages: size, first run (fresh cache), warm start.

Both run on the base interpreter (not the venv's) with ``-I``, as a user would run a downloaded file.
shiv gets the exact tree build_zipapp.py staged for this machine's target (same wheels, same
exclusions) plus labmcp's package, built with ``--compile-pyc`` because our bootstrap compiles too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from labmcp.fake.serve import FakeLabArchives
from tests.bench.context import ORDER_PYZ, Bench, Section
from tests.bench.figures_stdio import server_env
from tests.bench.peer import ROOT, time_to_initialize
from tests.bench.report import Row, median

DIST = ROOT / "dist"
STAGE = ROOT / "build" / "pyz" / "stage"
MIB = 1024 * 1024


def base_python() -> str:
    return str(getattr(sys, "_base_executable", sys.executable))


def local_target() -> str:
    return f"cp{sys.version_info.major}{sys.version_info.minor}-manylinux_x86_64"


def ensure_pyz(log: list[str]) -> Path | None:
    """dist/labmcp.pyz, building it with build_zipapp.py when absent (build time not counted)."""
    universal = DIST / "labmcp.pyz"
    if not universal.exists():
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(ROOT / "build_zipapp.py")], cwd=ROOT, check=False)
        log.append(f"built dist/labmcp.pyz in {time.perf_counter() - started:.0f} s (exit {done.returncode})")
    return universal if universal.exists() else None


def ensure_shiv(log: list[str]) -> list[str] | None:
    """The shiv command line, installing shiv into this venv with pip when missing."""
    shiv = Path(sys.executable).with_name("shiv")
    if not shiv.exists():
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "shiv"], check=False)
        log.append(f"pip install shiv: exit {done.returncode}")
    return [str(shiv)] if shiv.exists() else None


def build_shiv(shiv: list[str], stage: Path, out: Path) -> float:
    """Pack the staged tree + labmcp with shiv; returns the build seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site-packages"
        shutil.copytree(stage, site, ignore=shutil.ignore_patterns("__pycache__", "bin"))
        shutil.copytree(ROOT / "labmcp", site / "labmcp", ignore=shutil.ignore_patterns("__pycache__"))
        started = time.perf_counter()
        subprocess.run(
            [*shiv, "--site-packages", str(site), "-e", "labmcp.cli:main", "-o", str(out), "--reproducible",
             "--compile-pyc", "--python", "/usr/bin/env python3"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        return time.perf_counter() - started


def _cache_parent(tmp: Path, name: str) -> Path:
    return tmp / name.replace(" ", "-").replace("'", "")


async def _first_runs(fake: FakeLabArchives, command: Sequence[str], cache_var: str, tmp: Path, runs: int) -> float:
    """Median spawn -> initialize with a fresh cache dir each time (extraction included), in seconds."""
    first = []
    for i in range(runs):
        env = server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0", **{cache_var: str(tmp / f"{cache_var}-{i}")})
        first.append(await time_to_initialize(command, env))
    return median(first)


async def _warm_runs(
    fake: FakeLabArchives, commands: dict[str, tuple[list[str], str]], tmp: Path, runs: int
) -> dict[str, float]:
    """Median warm spawn -> initialize per command (cache from the first run kept), interleaved against drift."""
    envs = {
        name: server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0", **{var: str(_cache_parent(tmp, name) / f"{var}-0")})
        for name, (_, var) in commands.items()
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, _) in commands.items():
            times[name].append(await time_to_initialize(command, envs[name]))
    return {name: median(values) for name, values in times.items()}


async def pyz_figures(
    fake: FakeLabArchives, runs: int, warm_runs: int, minimal_startup_ms: float | None
) -> tuple[list[Row], list[str]]:
    log: list[str] = []
    universal = ensure_pyz(log)
    slim = DIST / f"labmcp-{local_target()}.pyz"
    stage = STAGE / local_target()
    shiv = ensure_shiv(log)
    if universal is None or not slim.exists() or not stage.is_dir() or shiv is None:
        log.append(f"pyz figures skipped: pyz {universal}, slim {slim.exists()}, stage {stage.is_dir()}, shiv {shiv}")
        return [], log
    py = base_python()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        shiv_pyz = tmp / "labmcp-shiv.pyz"
        build_seconds = build_shiv(shiv, stage, shiv_pyz)
        log.append(f"shiv pyz built from {stage.relative_to(ROOT)} in {build_seconds:.1f} s with {py}")
        shiv_size = shiv_pyz.stat().st_size / MIB
        rows.append(
            Row(
                "pyz size, this machine's target",
                slim.stat().st_size / MIB,
                shiv_size,
                "MiB",
                note="vs shiv, same tree",
            )
        )
        rows.append(
            Row("pyz size, universal (15 CPython × platform targets)", universal.stat().st_size / MIB, shiv_size, "MiB",
                note="vs shiv for one target")
        )  # fmt: skip
        commands = {
            "shiv": ([py, "-I", str(shiv_pyz)], "SHIV_ROOT"),
            "this machine's pyz": ([py, "-I", str(slim)], "LABMCP_CACHE_DIR"),
            "universal pyz": ([py, "-I", str(universal)], "LABMCP_CACHE_DIR"),
        }
        first = {}
        for name, (command, var) in commands.items():
            first[name] = await _first_runs(fake, command, var, _cache_parent(tmp, name), runs)
        warm = await _warm_runs(fake, commands, tmp, warm_runs)
        for name in ("this machine's pyz", "universal pyz"):
            rows.append(Row(f"First run (fresh cache) → initialize, {name}", first[name] * 1000, first["shiv"] * 1000,
                            "ms", note=f"median of {runs}, vs shiv"))  # fmt: skip
            rows.append(Row(f"Warm start → initialize, {name}", warm[name] * 1000, warm["shiv"] * 1000, "ms",
                            note=f"median of {warm_runs}, vs shiv"))  # fmt: skip
        if minimal_startup_ms is not None:
            ms = warm["universal pyz"] * 1000
            rows.append(Row("Start-up: universal pyz (warm) vs minimal SDK server", ms, minimal_startup_ms, "ms",
                            "≤ baseline", ms <= minimal_startup_ms))  # fmt: skip
    return rows, log


async def pyz(bench: Bench) -> list[Row]:
    if not bench.plan.pyz:
        return []
    minimal = bench.shared.get("minimal_startup_ms")
    rows, log = await pyz_figures(bench.fake, 3, bench.plan.runs, minimal if isinstance(minimal, float) else None)
    for line in log:
        bench.note(line)
    return rows


SECTIONS = (Section("pyz", ORDER_PYZ, pyz),)
