"""The ops scripts: --help, argument errors, and what they do, driven with a recording fake kubectl
(it renders with the real one) and a static file server standing in for the health listener."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.k8s.tools import K8S, ROOT, tool

SCRIPTS = K8S / "scripts"
NAMES = ("build.sh", "deploy.sh", "health-check.sh", "cleanup.sh", "config-backup.sh", "config-restore.sh")


def sh(
    script: str, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@pytest.mark.parametrize("script", NAMES)
def test_every_script_explains_itself_with_help(script: str) -> None:
    proc = sh(script, "--help")
    assert proc.returncode == 0 and proc.stdout.startswith(f"Usage: k8s/scripts/{script}")


def test_validate_script_explains_itself_with_help() -> None:
    proc = subprocess.run(["sh", str(K8S / "validate.sh"), "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("Usage: k8s/validate.sh")


@pytest.mark.parametrize("script", ["deploy.sh", "cleanup.sh", "config-backup.sh", "config-restore.sh"])
def test_scripts_refuse_an_unknown_environment(script: str) -> None:
    proc = sh(script, "qa")
    assert proc.returncode == 2 and "unknown ENV 'qa'" in proc.stderr


@pytest.fixture
def fake_kubectl(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A kubectl that records every call, answers `kustomize` with the real one, and `get` from files."""
    log = tmp_path / "kubectl.log"
    fake = tmp_path / "kubectl"
    fake.write_text(
        f"""#!/bin/sh
echo "$*" >> {log}
case $1 in
    kustomize) exec {tool("kubectl")} "$@" ;;
esac
case "$*" in
    *"get configmap"*) printf 'items:\\n- kind: ConfigMap\\n  metadata:\\n    name: c\\n    uid: 1\\n' ;;
    *"get secret"*) exit 1 ;;
    *"create "*) printf 'kind: Object\\n' ;;
esac
cat > /dev/null 2>&1 || true
""",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    yield {"KUBECTL": str(fake)}, log


def test_deploy_dry_run_renders_the_overlay_with_a_pinned_digest(fake_kubectl: tuple[dict[str, str], Path]) -> None:
    env, log = fake_kubectl
    digest = "sha256:" + "0" * 64
    proc = sh("deploy.sh", "prod", "--dry-run", "--image", f"registry.internal/labmcp@{digest}", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"image: registry.internal/labmcp@{digest}" in proc.stdout
    assert "namespace: labmcp" in proc.stdout
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["kustomize"]
    assert not list(K8S.glob(".render.*")), "temporary kustomization left behind"


def test_deploy_stops_before_applying_when_the_secret_is_missing(fake_kubectl: tuple[dict[str, str], Path]) -> None:
    env, log = fake_kubectl
    proc = sh("deploy.sh", "staging", env=env)
    assert proc.returncode == 1 and "Secret labmcp-credentials is missing in labmcp-staging" in proc.stderr
    assert not any(line.startswith("apply --filename=/") for line in log.read_text().splitlines())


def test_deploy_creates_the_secret_applies_and_waits_for_the_rollout(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = fake_kubectl
    secrets = tmp_path / "creds.env"
    secrets.write_text("LABMCP_HTTP_TOKEN=x\n", encoding="utf-8")
    proc = sh("deploy.sh", "dev", "--secrets", str(secrets), "--timeout", "60", env=env)
    assert proc.returncode == 0, proc.stderr
    calls = log.read_text().splitlines()
    assert f"--namespace labmcp-dev create secret generic labmcp-credentials --from-env-file={secrets} " in (
        "\n".join(calls) + " "
    )
    assert any(c.startswith("apply --filename=") and c.endswith("rendered.yaml") for c in calls)
    assert calls[-1] == "--namespace labmcp-dev rollout status deployment/labmcp --timeout=60s"


def test_cleanup_dry_run_lists_the_resources_but_keeps_the_namespace(fake_kubectl: tuple[dict[str, str], Path]) -> None:
    env, _ = fake_kubectl
    proc = sh("cleanup.sh", "prod", "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "kind: Deployment" in proc.stdout and "kind: Namespace" not in proc.stdout


def test_cleanup_without_confirmation_deletes_nothing(fake_kubectl: tuple[dict[str, str], Path]) -> None:
    env, log = fake_kubectl
    proc = sh("cleanup.sh", "dev", env=env)
    assert proc.returncode == 1 and "nothing deleted" in proc.stderr
    assert not any(line.startswith("delete") for line in log.read_text().splitlines())


def test_backup_restores_only_when_its_checksum_matches(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = fake_kubectl
    proc = sh("config-backup.sh", "staging", "--out", str(tmp_path / "b"), env=env)
    assert proc.returncode == 0, proc.stderr
    backup = Path(proc.stdout.strip())
    assert "uid:" not in backup.read_text() and "name: c" in backup.read_text()
    restored = sh("config-restore.sh", "staging", str(backup), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr
    assert log.read_text().splitlines()[-1] == "--namespace labmcp-staging rollout restart deployment/labmcp"
    backup.write_text(backup.read_text() + "# tampered\n")
    refused = sh("config-restore.sh", "staging", str(backup), "--yes", env=env)
    assert refused.returncode == 1 and "does not match its SHA256" in refused.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def health_stub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A file server whose paths play /health/live, /health/ready and /metrics; delete a file to fail it."""
    root = tmp_path / "site"
    (root / "health").mkdir(parents=True)
    (root / "health" / "live").write_text("{}")
    (root / "health" / "ready").write_text("{}")
    (root / "metrics").write_text("labmcp_ready 1\n")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)  # polling a child process's listen socket; no event to wait on
        yield f"http://127.0.0.1:{port}", root
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_health_check_passes_against_a_healthy_listener(health_stub: tuple[str, Path]) -> None:
    url, _ = health_stub
    proc = sh("health-check.sh", "--url", url)
    assert proc.returncode == 0, proc.stdout
    assert "ok    /metrics (labmcp_ready 1)" in proc.stdout


def test_health_check_fails_when_not_ready(health_stub: tuple[str, Path]) -> None:
    url, root = health_stub
    (root / "health" / "ready").unlink()
    proc = sh("health-check.sh", "--url", url)
    assert proc.returncode == 1
    assert "ok    /health/live" in proc.stdout and "FAIL  /health/ready" in proc.stdout
