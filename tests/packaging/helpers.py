"""Interpreters on this machine and a bare environment to run the built pyz in."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path


@cache
def interpreters() -> dict[str, Path]:
    """Real paths of every CPython 3.11-3.13 on PATH (pyenv shims resolved, since a bare env breaks them)."""
    found: dict[str, Path] = {}
    for version in ("3.11", "3.12", "3.13"):
        shim = shutil.which(f"python{version}")
        if shim is None:
            continue
        probe = subprocess.run(
            [shim, "-c", "import sys; print(sys.executable)"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and probe.stdout.strip():
            found[version] = Path(probe.stdout.strip())
    return found


def bare_env(home: Path, cache: Path | None, **extra: str) -> dict[str, str]:
    """Nothing from the test run leaks in: an empty HOME, a chosen cache, no PYTHON*/LABARCHIVES_* variables."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if cache is not None:
        env["LABMCP_CACHE_DIR"] = str(cache)
    env.update(extra)
    return env
