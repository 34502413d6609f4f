"""Shared helpers for the k8s/ checks: where the deployment files are, the validators, rendered overlays.

The validators live in their own venv (``.venv/k8s-tools``, see k8s/tools-requirements.txt) so that
checkov's large dependency tree never meets the server's; YAML is parsed by that venv's PyYAML too.
A missing tool skips a test locally and fails it when ``LABMCP_REQUIRE_TOOLS=1`` (CI), so CI cannot
go green without running the check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
OVERLAYS = ("dev", "staging", "prod", "institution")
KUSTOMIZATIONS = {**{name: K8S / "overlays" / name for name in OVERLAYS}, "sidecar": K8S / "examples" / "sidecar"}
TOOLS_BIN = Path(os.environ.get("LABMCP_K8S_TOOLS", ROOT / ".venv" / "k8s-tools" / "bin"))


def tool(name: str, *, venv_only: bool = False) -> str:
    """Path of a validator: the tools venv first, then PATH; skip (or fail in CI) when absent."""
    candidate = TOOLS_BIN / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = None if venv_only else shutil.which(name)
    if found:
        return found
    message = f"{name} not found in {TOOLS_BIN} or PATH (make k8s-tools; promtool: apt-get install prometheus)"
    if os.environ.get("LABMCP_REQUIRE_TOOLS") == "1":
        pytest.fail(message)
    pytest.skip(message)


def run(args: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, timeout: float = 120) -> str:
    """Run a command and return its stdout; a non-zero exit fails the test with the tool's own output."""
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


_rendered: dict[str, str] = {}


def render(name: str) -> str:
    """The YAML `kubectl kustomize` makes of one overlay (or the sidecar example), rendered once per session."""
    if name not in _rendered:
        _rendered[name] = run([tool("kubectl"), "kustomize", str(KUSTOMIZATIONS[name])])
    return _rendered[name]


_YAML_TO_JSON = "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)"


def load_yaml(text: str) -> list[Any]:
    """Every non-empty document of a YAML stream, parsed by the tools venv's PyYAML."""
    args = [tool("python", venv_only=True), "-c", _YAML_TO_JSON]
    proc = subprocess.run(args, input=text, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        pytest.fail(f"not valid YAML: {proc.stderr}")
    result: list[Any] = json.loads(proc.stdout)
    return result


def documents(name: str) -> list[dict[str, Any]]:
    return load_yaml(render(name))


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    matches = [doc for doc in docs if doc["kind"] == kind]
    assert len(matches) == 1, f"expected one {kind}, found {len(matches)}"
    return matches[0]


def metric_names() -> set[str]:
    """Series names from k8s/monitoring/metrics.txt, the one list of what the server exports."""
    lines = (K8S / "monitoring" / "metrics.txt").read_text(encoding="utf-8").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}
