"""One real build of the pyz per test session, shared by every packaging test.

The build runs from a snapshot of the sources, so edits made to the work tree while the tests run
cannot make two builds differ; downloaded wheels are cached in the work tree's build/ directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EPOCH = "1767225600"


def snapshot(dest: Path) -> Path:
    """Copy what build_zipapp.py reads: the script, pyproject.toml, requirements/ and the labmcp package."""
    dest.mkdir(parents=True)
    for name in ("build_zipapp.py", "pyproject.toml"):
        shutil.copy2(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "requirements", dest / "requirements", ignore=ignore)
    shutil.copytree(ROOT / "labmcp", dest / "labmcp", ignore=ignore)
    return dest


def build_into(source: Path, out: Path) -> Path:
    """Run build_zipapp.py as a user would; a fixed SOURCE_DATE_EPOCH stands in for the commit time."""
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "UV_CACHE_DIR": str(ROOT / "build" / "pyz" / "uv-cache")}
    command = [sys.executable, str(source / "build_zipapp.py"), "--out", str(out)]
    subprocess.run(command, check=True, timeout=900, env=env, cwd=source)
    return out


@pytest.fixture(scope="session")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return snapshot(tmp_path_factory.mktemp("src") / "labmcp-src")


@pytest.fixture(scope="session")
def dist(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dist directory of the session's build: labmcp.pyz, the slim pyz, SBOMs, SHA256SUMS."""
    return build_into(source, tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="session")
def pyz(dist: Path) -> Path:
    return dist / "labmcp.pyz"
