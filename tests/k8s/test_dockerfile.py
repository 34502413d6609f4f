"""The Dockerfile's stages: production agrees with the Deployment (command, args, user, ports) and
carries the slim pyz of the platform being built, not the universal file; development runs the
mounted source with the test tools and debug logs; the HEALTHCHECK command, run as written with this
machine's Python, tells a live health route from a missing one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from build_zipapp import PLATFORMS
from tests.k8s.test_manifests import server_container
from tests.k8s.test_scripts import health_stub
from tests.k8s.tools import K8S, documents, one

__all__ = ["health_stub"]  # the fixture, imported for this module's tests

DOCKERFILE = (K8S / "Dockerfile").read_text(encoding="utf-8")
FROM = re.compile(r"^FROM (\S+) AS (\w[\w-]*)$", re.MULTILINE)


def stages() -> dict[str, str]:
    """Each stage's instructions by stage name, continuation lines joined."""
    joined = DOCKERFILE.replace("\\\n", " ")
    marks = list(FROM.finditer(joined))
    assert len(marks) == len(re.findall(r"^FROM ", joined, re.MULTILINE)), "every stage is named"
    ends = [m.start() for m in marks[1:]] + [len(joined)]
    return {m.group(2): joined[m.start() : end] for m, end in zip(marks, ends, strict=True)}


def instruction(name: str, stage: str = "production") -> str:
    """The text of the one instruction called ``name`` in a stage."""
    (match,) = re.findall(rf"^{name} (.+)$", stages()[stage], flags=re.MULTILINE)
    return str(match)


def healthcheck_command(stage: str = "production") -> list[str]:
    command: list[str] = json.loads(instruction("HEALTHCHECK", stage).split(" CMD ", 1)[1])
    return command


def python_minor() -> str:
    (image,) = set(m.group(1) for m in FROM.finditer(DOCKERFILE))
    match = re.match(r"python:3\.(\d+)\.", image)
    assert match
    return f"cp3{match.group(1)}"


def test_every_stage_uses_one_slim_base_pinned_by_digest() -> None:
    images = {m.group(1) for m in FROM.finditer(DOCKERFILE)}
    assert len(images) == 1
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", images.pop())


def test_production_is_the_last_stage_so_a_plain_build_makes_it() -> None:
    assert list(stages())[-1] == "production"
    assert set(stages()) == {"pyz", "development", "production"}


def test_production_extracts_the_pyz_at_build_time_into_the_baked_cache() -> None:
    assert "LABMCP_CACHE_DIR=/opt/labmcp-cache" in instruction("ENV")
    assert "LABMCP_EXTRACT_ONLY=1 python /app/labmcp.pyz" in instruction("RUN")
    assert instruction("COPY") == "--from=pyz /labmcp.pyz /app/labmcp.pyz"


def test_no_stage_copies_the_universal_file() -> None:
    copies = re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE)
    assert copies and not any("dist/labmcp.pyz" in copy for copy in copies)
    assert instruction("COPY", "pyz") == f"dist/labmcp-{python_minor()}-manylinux_*.pyz /pyz/"


@pytest.mark.parametrize(("arch", "platform"), [("amd64", "manylinux_x86_64"), ("arm64", "manylinux_aarch64")])
def test_the_pyz_stage_picks_the_slim_file_of_the_platform_being_built(
    arch: str, platform: str, tmp_path: Path
) -> None:
    """The stage's RUN, executed by sh as written (paths moved under a temporary directory)."""
    assert platform in PLATFORMS
    (tmp_path / "pyz").mkdir()
    for name in PLATFORMS:
        if name.startswith("manylinux_"):
            (tmp_path / "pyz" / f"labmcp-{python_minor()}-{name}.pyz").write_text(name)
    script = instruction("RUN", "pyz").replace("/pyz/", f"{tmp_path}/pyz/").replace(" /labmcp.pyz", f" {tmp_path}/out")
    done = subprocess.run(
        ["sh", "-c", script], env={**os.environ, "TARGETARCH": arch}, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out").read_text() == platform


def test_the_pyz_stage_refuses_a_platform_it_has_no_file_for(tmp_path: Path) -> None:
    script = instruction("RUN", "pyz").replace("/pyz/", f"{tmp_path}/").replace(" /labmcp.pyz", f" {tmp_path}/out")
    done = subprocess.run(
        ["sh", "-c", script], env={**os.environ, "TARGETARCH": "s390x"}, capture_output=True, check=False
    )
    assert done.returncode != 0 and b"no slim pyz for linux/s390x" in done.stderr


def test_build_script_makes_the_slim_files_the_image_needs() -> None:
    build = (K8S / "scripts" / "build.sh").read_text(encoding="utf-8")
    (targets,) = re.findall(r'^slim="([^"]+)"$', build, re.MULTILINE)
    assert targets.split() == [f"{python_minor()}-manylinux_x86_64", f"{python_minor()}-manylinux_aarch64"]
    assert 'flags="$flags --slim $target"' in build and 'pyz PYZ_FLAGS="$flags"' in build


def test_image_runs_what_the_deployment_runs_as_the_same_user() -> None:
    docs = documents("prod")
    container = server_container(docs)
    assert json.loads(instruction("ENTRYPOINT")) == container["command"]
    assert json.loads(instruction("CMD")) == container["args"]
    uid = one(docs, "Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    assert instruction("USER") == f"{uid}:{uid}"
    assert set(instruction("EXPOSE").split()) == {str(p["containerPort"]) for p in container["ports"]}


def test_development_runs_the_mounted_source_with_debug_logs_and_test_tools() -> None:
    env = instruction("ENV", "development")
    assert "PYTHONPATH=/src" in env and "LABARCHIVES_LOG_LEVEL=DEBUG" in env
    assert "pip install --no-cache-dir '/src[dev]'" in instruction("RUN", "development")
    assert json.loads(instruction("ENTRYPOINT", "development")) == ["python", "-m", "labmcp"]
    for same in ("CMD", "USER", "EXPOSE", "HEALTHCHECK"):
        assert instruction(same, "development") == instruction(same), same


def test_the_build_context_sends_only_what_the_stages_copy() -> None:
    """k8s/Dockerfile.dockerignore lists what may enter the context (a whitelist), so a local .venv
    or build/ never travels to the engine."""
    ignore = [line for line in (K8S / "Dockerfile.dockerignore").read_text().splitlines() if line and line[0] != "#"]
    assert ignore[0] == "*"
    allowed = {line.removeprefix("!").rstrip("/") for line in ignore[1:] if line.startswith("!")}
    sources = set()
    for copy in re.findall(r"^COPY (.+)$", DOCKERFILE, re.MULTILINE):
        if not copy.startswith("--from="):
            sources |= {src.rstrip("/") for src in copy.split()[:-1]}
    assert sources == allowed


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
