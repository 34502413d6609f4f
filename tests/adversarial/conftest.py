"""Fixtures of the adversarial suite: the canary-credential fake and the figures every part records."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from labmcp.fake import FakeLabArchives
from tests.adversarial.support import canary_fake, leaked_secrets, read_logs

ROOT = Path(__file__).resolve().parents[2]


def figures_path() -> Path:
    """Where the figures go: $LABMCP_FIGURES, else .venv/adversarial-figures.json in the repository."""
    return Path(os.environ.get("LABMCP_FIGURES") or ROOT / ".venv" / "adversarial-figures.json")


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    """Parts record their figures here; at the end they are merged into the figures file (per part)."""
    recorded: dict[str, Any] = {}
    yield recorded
    if not recorded:
        return
    path = figures_path()
    try:
        merged = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        merged = {}
    merged.setdefault("parts", {}).update(recorded)
    merged["generated_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    merged["command"] = " ".join(["python -m pytest", *sys.argv[1:]]) if "pytest" in sys.argv[0] else " ".join(sys.argv)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.fixture
async def cfake(nursery: trio.Nursery) -> AsyncIterator[FakeLabArchives]:
    """The demo fake with canary credentials on loopback; every server in this suite runs against it."""
    server = canary_fake()
    await nursery.start(server.serve)
    yield server


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """A DEBUG log file for the server under test; after the test it must hold no canary secret."""
    path = tmp_path / "logs" / "labmcp.log"
    yield path
    if path.parent.exists():
        text = read_logs(path)
        assert not leaked_secrets(text), f"secret in the server log: {leaked_secrets(text)}"
