"""The Dockerfile agrees with the Deployment (command, args, user, ports) and its HEALTHCHECK command,
run as written with this machine's Python, tells a live health route from a missing one."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.k8s.test_manifests import server_container
from tests.k8s.test_scripts import health_stub
from tests.k8s.tools import K8S, documents, one

__all__ = ["health_stub"]  # the fixture, imported for this module's tests

DOCKERFILE = (K8S / "Dockerfile").read_text(encoding="utf-8")


def instruction(name: str) -> str:
    """The text of the one instruction called ``name``, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    (match,) = re.findall(rf"^{name} (.+)$", joined, flags=re.MULTILINE)
    return str(match)


def healthcheck_command() -> list[str]:
    command: list[str] = json.loads(instruction("HEALTHCHECK").split(" CMD ", 1)[1])
    return command


def test_base_image_is_slim_and_pinned_by_digest() -> None:
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", instruction("FROM"))


def test_image_extracts_the_pyz_at_build_time_into_the_baked_cache() -> None:
    assert "LABMCP_CACHE_DIR=/opt/labmcp-cache" in instruction("ENV")
    assert "LABMCP_EXTRACT_ONLY=1 python /app/labmcp.pyz" in instruction("RUN")
    assert instruction("COPY") == "dist/labmcp.pyz /app/labmcp.pyz"


def test_image_runs_what_the_deployment_runs_as_the_same_user() -> None:
    docs = documents("prod")
    container = server_container(docs)
    assert json.loads(instruction("ENTRYPOINT")) == container["command"]
    assert json.loads(instruction("CMD")) == container["args"]
    uid = one(docs, "Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert instruction("USER") == f"{uid}:{uid}"
    assert set(instruction("EXPOSE").split()) == {str(p["containerPort"]) for p in container["ports"]}


def test_healthcheck_uses_python_on_the_liveness_route() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"] and "/health/live" in command[2] and "curl" not in " ".join(command)


def run_healthcheck(url: str) -> int:
    port = url.rsplit(":", 1)[1]
    proc = subprocess.run(
        [sys.executable, *healthcheck_command()[1:]],
        env={"LABMCP_HEALTH_PORT": port},
        capture_output=True,
        timeout=30,
        check=False,
    )
    return proc.returncode


def test_healthcheck_passes_on_a_live_route_and_fails_without_it(health_stub: tuple[str, Path]) -> None:
    url, root = health_stub
    assert run_healthcheck(url) == 0
    (root / "health" / "live").unlink()
    assert run_healthcheck(url) != 0
