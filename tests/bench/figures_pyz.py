"""The pyz: size and first run against shiv packing the same site-packages; warm start-up and idle
RSS against the minimal SDK server (the same goals as ``python -m labmcp``).

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
from pathlib import Path

from labmcp.fake.serve import FakeLabArchives
from tests.bench.context import ORDER_PYZ, Bench, Section
from tests.bench.figures_startup import startup_and_memory, startup_rows
from tests.bench.figures_stdio import server_env
from tests.bench.peer import ROOT, time_to_initialize
from tests.bench.report import Row, compare

DIST = ROOT / "dist"
STAGE = ROOT / "build" / "pyz" / "stage"
MIB = 1024 * 1024


def base_python() -> str:
    return str(getattr(sys, "_base_executable", sys.executable))


def local_target() -> str:
    return f"cp{sys.version_info.major}{sys.version_info.minor}-manylinux_x86_64"


def _newest_source() -> float:
    """mtime of the newest file the pyz is built from (labmcp's sources, the lock, the builder)."""
    files = [*(ROOT / "labmcp").rglob("*.py"), ROOT / "requirements" / "pyz.lock", ROOT / "build_zipapp.py"]
    return max(f.stat().st_mtime for f in files if f.exists())


def ensure_pyz(log: list[str]) -> Path | None:
    """dist/labmcp.pyz, (re)built with build_zipapp.py when absent or older than its sources
    (build time not counted): a stale pyz would measure yesterday's start-up."""
    universal = DIST / "labmcp.pyz"
    if not universal.exists() or universal.stat().st_mtime < _newest_source():
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


async def _first_runs(
    fake: FakeLabArchives, commands: dict[str, tuple[list[str], str]], tmp: Path, runs: int
) -> dict[str, list[float]]:
    """Spawn -> initialize with a fresh cache dir each time (extraction included), in seconds; the
    kinds take turns, starting with a different one each round, so none is always measured first."""
    names = list(commands)
    times: dict[str, list[float]] = {name: [] for name in names}
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            command, var = commands[name]
            env = server_env(
                fake, LABARCHIVES_REQUEST_INTERVAL="0", **{var: str(_cache_parent(tmp, name) / f"first-{i}")}
            )
            times[name].append(await time_to_initialize(command, env))
    return times


async def pyz(bench: Bench) -> list[Row]:
    """Size and first run against shiv; warm start-up and idle RSS of the universal pyz against the
    minimal SDK server (issue 20's goals hold for the pyz too)."""
    plan = bench.plan
    if not plan.pyz:
        return []
    log: list[str] = []
    universal = ensure_pyz(log)
    slim = DIST / f"labmcp-{local_target()}.pyz"
    stage = STAGE / local_target()
    shiv = ensure_shiv(log)
    for line in log:
        bench.note(line)
    if universal is None or not slim.exists() or not stage.is_dir() or shiv is None:
        raise RuntimeError(
            f"pyz figures need the pyz {universal}, slim {slim.exists()}, stage {stage.is_dir()}, shiv {shiv}"
        )
    py = base_python()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        shiv_pyz = tmp / "labmcp-shiv.pyz"
        build_seconds = build_shiv(shiv, stage, shiv_pyz)
        bench.note(f"shiv pyz built from {stage.relative_to(ROOT)} in {build_seconds:.1f} s with {py}")
        shiv_size = shiv_pyz.stat().st_size / MIB
        rows.append(Row("pyz size, this machine's target", slim.stat().st_size / MIB, shiv_size, "MiB",
                        note="vs shiv, same tree"))  # fmt: skip
        rows.append(Row("pyz size, universal (15 CPython × platform targets)", universal.stat().st_size / MIB,
                        shiv_size, "MiB", note="vs shiv for one target"))  # fmt: skip
        commands = {
            "shiv": ([py, "-I", str(shiv_pyz)], "SHIV_ROOT"),
            "universal pyz": ([py, "-I", str(universal)], "LABMCP_CACHE_DIR"),
        }
        first = await _first_runs(bench.fake, commands, tmp, 3)
        for name in ("universal pyz",):
            rows.append(compare(f"First run (fresh cache) → initialize, {name}", [t * 1000 for t in first[name]],
                                [t * 1000 for t in first["shiv"]], "ms", note="3 runs each, kinds rotated, vs shiv"))  # fmt: skip
        warm_cache = _cache_parent(tmp, "universal pyz") / "first-0"
        env = server_env(bench.fake, LABARCHIVES_REQUEST_INTERVAL="0", LABMCP_CACHE_DIR=str(warm_cache))
        label = "universal pyz (warm cache, `python -I`)"
        ours, base = await startup_and_memory(bench, label, commands["universal pyz"][0], env)
        rows += startup_rows(label, ours, base, plan.runs)
    return rows


SECTIONS = (Section("pyz", ORDER_PYZ, pyz),)
