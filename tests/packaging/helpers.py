"""Interpreters on this machine and a bare environment to run the built pyz in."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import cache
from pathlib import Path


def _candidates(minor: str) -> list[Path]:
    """PATH first, then every pyenv version (its shims only work for the versions `pyenv global` names)."""
    found = [Path(p) for p in [shutil.which(f"python{minor}"), f"/usr/bin/python{minor}"] if p and Path(p).is_file()]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found += sorted(pyenv.glob(f"{minor}.*/bin/python{minor}"))
    return found


@cache
def interpreters(minors: tuple[str, ...] = ("3.11", "3.12", "3.13")) -> dict[str, Path]:
    """{full version: real executable} of every distinct CPython of the given minor versions here."""
    result: dict[str, Path] = {}
    seen: set[str] = set()
    for minor in minors:
        for candidate in _candidates(minor):
            probe = subprocess.run(
                [str(candidate), "-I", "-c", "import sys, platform; print(platform.python_version(), sys.executable)"],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.returncode != 0 or not probe.stdout.strip():
                continue
            version, executable = probe.stdout.split(maxsplit=1)
            if executable.strip() not in seen:
                seen.add(executable.strip())
                result.setdefault(version, Path(executable.strip()))
    return result


def bare_env(home: Path, cache: Path | None, **extra: str) -> dict[str, str]:
    """Nothing from the test run leaks in: an empty HOME, a chosen cache, no PYTHON*/LABARCHIVES_* variables."""
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if cache is not None:
        env["LABMCP_CACHE_DIR"] = str(cache)
    env.update(extra)
    return env
