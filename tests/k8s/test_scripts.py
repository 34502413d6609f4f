"""The ops scripts: --help, argument errors, and what they do, driven with a recording fake kubectl
(it renders with the real one) and a static file server standing in for the health listener."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labmcp.transports.health import Readiness, respond
from labmcp.transports.metrics import Metrics
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
    """A kubectl that records every call, answers `kustomize` with the real one, and `get` from files.

    FAKE_KUBECTL_FAIL_AT=N makes the N-th call (1-based) fail as an unreachable cluster does;
    FAKE_KUBECTL_EMPTY=1 makes `get configmap` find nothing; FAKE_KUBECTL_SECRET=1 makes the Secret exist."""
    log = tmp_path / "kubectl.log"
    count = tmp_path / "kubectl.count"
    fake = tmp_path / "kubectl"
    fake.write_text(
        f"""#!/bin/sh
echo "$*" >> {log}
n=$(($(cat {count} 2>/dev/null || echo 0) + 1))
echo "$n" > {count}
if [ "$n" = "${{FAKE_KUBECTL_FAIL_AT:-0}}" ]; then
    echo "The connection to the server localhost:8080 was refused" >&2
    exit 1
fi
case $1 in
    kustomize) exec {tool("kubectl")} "$@" ;;
esac
case "$*" in
    *"get configmap"*)
        if [ "${{FAKE_KUBECTL_EMPTY:-0}}" = 1 ]; then printf 'apiVersion: v1\\nitems: []\\nkind: List\\n'
        else printf 'apiVersion: v1\\nitems:\\n- apiVersion: v1\\n  data:\\n    A: b\\n  kind: ConfigMap\\n  metadata:\\n    name: c\\n    uid: 1\\nkind: List\\n'
        fi ;;
    *"get secret"*)
        [ "${{FAKE_KUBECTL_SECRET:-0}}" = 1 ] || {{ echo 'Error from server (NotFound): secrets "labmcp-credentials" not found' >&2; exit 1; }}
        printf 'apiVersion: v1\\ndata:\\n  LABMCP_HTTP_TOKEN: eA==\\nkind: Secret\\nmetadata:\\n  name: labmcp-credentials\\n' ;;
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
    assert not any(line.endswith("rendered.yaml") for line in log.read_text().splitlines() if "apply" in line)


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


def wait_for_listener(port: int) -> None:
    """Until a child process accepts connections on ``port`` (at most 20 s)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)  # polling a child process's listen socket; no event to wait on


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
        wait_for_listener(port)
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


# --- failing loudly (issue 19) ----------------------------------------------------------------------

SUCCESS = {
    "deploy.sh": "deployed ",
    "cleanup.sh": "cleaned up ",
    "config-backup.sh": ".yaml",  # the path of the backup it wrote
    "config-restore.sh": "restored ",
}


def backup(env: dict[str, str], out: Path) -> Path:
    proc = sh("config-backup.sh", "staging", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip())


def test_backup_fails_and_writes_nothing_when_the_cluster_is_unreachable(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = fake_kubectl
    out = tmp_path / "b"
    proc = sh("config-backup.sh", "staging", "--out", str(out), env={**env, "FAKE_KUBECTL_FAIL_AT": "1"})
    assert proc.returncode == 1 and "failed" in proc.stderr
    assert not list(out.glob("*")), "no backup and no checksum may be left behind"


def test_backup_refuses_a_namespace_without_labmcp_configmaps(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = fake_kubectl
    out = tmp_path / "b"
    proc = sh("config-backup.sh", "staging", "--out", str(out), env={**env, "FAKE_KUBECTL_EMPTY": "1"})
    assert proc.returncode == 1 and "no labmcp ConfigMap in namespace labmcp-staging" in proc.stderr
    assert not list(out.glob("*"))


def test_backup_with_the_secret_keeps_it_and_restores_both(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = fake_kubectl
    env = {**env, "FAKE_KUBECTL_SECRET": "1"}
    proc = sh("config-backup.sh", "staging", "--out", str(tmp_path / "b"), "--include-secret", env=env)
    assert proc.returncode == 0, proc.stderr
    saved = Path(proc.stdout.strip()).read_text()
    assert "kind: Secret" in saved and "kind: ConfigMap" in saved and "uid:" not in saved
    restored = sh("config-restore.sh", "staging", proc.stdout.strip(), "--yes", env=env)
    assert restored.returncode == 0, restored.stderr


def damage(kind: str, file: Path) -> None:
    """One way a backup can be unusable although a file and a checksum exist."""
    sums = file.with_name(file.name + ".sha256")
    if kind == "empty":  # what the old backup wrote when the cluster was unreachable
        file.write_text("")
        sums.write_text(f"{hashlib.sha256(b'').hexdigest()}  {file.name}\n")
    elif kind == "other-file":
        other = file.with_name("other.yaml")
        other.write_text("kind: ConfigMap\n")
        sums.write_text(f"{hashlib.sha256(other.read_bytes()).hexdigest()}  other.yaml\n")
    elif kind == "two-lines":
        sums.write_text(sums.read_text() + sums.read_text())
    elif kind in ("foreign-object", "no-configmap"):
        text = file.read_text() + "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n"
        if kind == "no-configmap":
            text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: labmcp-credentials\n"
        file.write_text(text)
        sums.write_text(f"{hashlib.sha256(file.read_bytes()).hexdigest()}  {file.name}\n")
    elif kind == "no-checksum":
        sums.unlink()


@pytest.mark.parametrize("kind", ["empty", "other-file", "two-lines", "foreign-object", "no-configmap", "no-checksum"])
@pytest.mark.parametrize("mode", ["--dry-run", "--yes"])
def test_restore_refuses_an_unusable_backup_even_in_a_dry_run(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path, kind: str, mode: str
) -> None:
    env, log = fake_kubectl
    file = backup(env, tmp_path / "b")
    damage(kind, file)
    before = log.read_text()
    proc = sh("config-restore.sh", "staging", str(file), mode, env=env)
    assert proc.returncode == 1, proc.stdout
    assert proc.stderr.startswith("config-restore.sh: ") and "restore into" not in proc.stdout
    assert log.read_text() == before, "kubectl must not be called for an unusable backup"


def test_restore_dry_run_lists_what_a_good_backup_holds(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = fake_kubectl
    file = backup(env, tmp_path / "b")
    before = log.read_text()
    proc = sh("config-restore.sh", "staging", str(file), "--dry-run", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "restore into namespace labmcp-staging:" in proc.stdout and "  c" in proc.stdout.splitlines()
    assert log.read_text() == before


def successful_run(script: str, env: dict[str, str], tmp_path: Path) -> list[str]:
    """The arguments of a run of ``script`` that succeeds against the fake cluster."""
    if script == "deploy.sh":
        secrets = tmp_path / "creds.env"
        secrets.write_text("LABARCHIVES_AKID=a\nLABARCHIVES_SECRET=s\nLABARCHIVES_UID=u\nLABMCP_HTTP_TOKEN=t\n")
        return ["prod", "--secrets", str(secrets), "--timeout", "30"]
    if script == "cleanup.sh":
        return ["prod", "--yes", "--with-secret", "--with-namespace"]
    if script == "config-backup.sh":
        return ["prod", "--out", str(tmp_path / "out"), "--include-secret"]
    good = backup(env, tmp_path / "good")
    return ["staging", str(good), "--yes"]


@pytest.mark.parametrize("script", sorted(SUCCESS))
def test_every_failed_kubectl_call_fails_the_script(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path, script: str
) -> None:
    """Whichever kubectl call fails, the script exits non-zero and never reports success: the whole
    kind of fault, not only the backup the issue found (bounded: one run per call of a good run)."""
    env, log = fake_kubectl
    env = {**env, "FAKE_KUBECTL_SECRET": "1"}
    args = successful_run(script, env, tmp_path)
    count = tmp_path / "kubectl.count"
    count.unlink(missing_ok=True)
    log.write_text("")
    good = sh(script, *args, env=env)
    assert good.returncode == 0 and SUCCESS[script] in good.stdout, good.stderr
    calls = len(log.read_text().splitlines())
    assert 2 <= calls <= 10
    for failing in range(1, calls + 1):
        count.unlink()
        proc = sh(script, *args, env={**env, "FAKE_KUBECTL_FAIL_AT": str(failing)})
        assert proc.returncode != 0, f"{script} exited 0 although kubectl call {failing} of {calls} failed"
        assert SUCCESS[script] not in proc.stdout
        assert proc.stderr.strip(), f"{script} failed silently at call {failing}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("# only a comment\n", "no KEY=value line"),
        ("LABARCHIVES_SECRTE=x\nLABMCP_HTTP_TOKEN=t\n", "line(s) 1"),
        ("LABMCP_HTTP_TOKEN=\n", "line(s) 1"),
        ("LABARCHIVES_AKID=a\nLABARCHIVES_REGION=us\n", "line(s) 2"),
    ],
)
def test_deploy_refuses_a_credentials_file_that_is_empty_or_wrong(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path, content: str, message: str
) -> None:
    env, log = fake_kubectl
    secrets = tmp_path / "creds.env"
    secrets.write_text(content)
    proc = sh("deploy.sh", "dev", "--secrets", str(secrets), env=env)
    assert proc.returncode == 2 and message in proc.stderr
    assert not log.exists(), "nothing may reach the cluster"


def test_deploy_accepts_every_key_the_secret_template_names_alternatives_included(
    fake_kubectl: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, _ = fake_kubectl
    keys = re.findall(r'^ *#? *([A-Z][A-Z0-9_]*): "<', (K8S / "base" / "secret.template.yaml").read_text(), re.M)
    assert {"LABARCHIVES_USER", "LABARCHIVES_TOKEN", "LABMCP_HTTP_TOKEN"} <= set(keys)
    secrets = tmp_path / "creds.env"
    secrets.write_text("".join(f"{key}=value-{n}\n" for n, key in enumerate(keys)))
    proc = sh("deploy.sh", "dev", "--secrets", str(secrets), env=env)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--timeout", "0"],
        ["--timeout", "soon"],
        ["--image", "registry/labmcp"],
        ["--image", "registry/labmcp@sha256:abc"],
        ["--image", "registry/labmcp@sha256:" + "G" * 64],
    ],
)
def test_deploy_refuses_invalid_options(fake_kubectl: tuple[dict[str, str], Path], args: list[str]) -> None:
    env, log = fake_kubectl
    proc = sh("deploy.sh", "dev", "--dry-run", *args, env=env)
    assert proc.returncode == 2 and proc.stderr.startswith("deploy.sh: ")
    assert not log.exists()


STATUS_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = json.load(open(sys.argv[2])).get(self.path, [404, "{}"])
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def status_stub(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A health listener stand-in answering each path with the status and body of routes.json."""
    routes = tmp_path / "routes.json"
    routes.write_text("{}")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", STATUS_SERVER, str(port), str(routes)])
    try:
        wait_for_listener(port)
        yield f"http://127.0.0.1:{port}", routes
    finally:
        server.terminate()
        server.wait(timeout=10)


def serve(routes: Path, ready: tuple[int, dict[str, object]], metrics: str) -> None:
    """The answers of the real listener (labmcp.transports.health.respond's JSON shapes)."""
    routes.write_text(
        json.dumps(
            {
                "/health/live": [200, json.dumps({"status": "alive"})],
                "/health/ready": [ready[0], json.dumps(ready[1])],
                "/metrics": [200, metrics],
            }
        )
    )


@pytest.mark.parametrize("fetcher", ["curl", "wget", "python3"])
def test_health_check_prints_the_reasons_and_warnings_readiness_gives(
    status_stub: tuple[str, Path], tmp_path: Path, fetcher: str
) -> None:
    url, routes = status_stub
    if fetcher != "python3" and shutil.which(fetcher) is None:
        pytest.skip(f"{fetcher} is not installed; the script's other fetchers are tested")
    readiness = Readiness()
    readiness.set("startup", False, "starting: connecting to LabArchives")
    readiness.note("labarchives", False, "cannot start: HTTP 503 from the API")
    answer = respond(b"GET", b"/health/ready", metrics=Metrics("0", lambda: False), readiness=readiness, info=dict)
    serve(routes, (answer.status, json.loads(answer.body)), "labmcp_ready 0\nlabmcp_upstream_up 0\n")
    proc = sh("health-check.sh", "--url", url, env={"PATH": only(fetcher, tmp_path)})
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert "FAIL  /health/ready (HTTP 503)" in lines
    assert "      reason: startup: starting: connecting to LabArchives" in lines
    assert "      warning: labarchives: cannot start: HTTP 503 from the API" in lines
    assert "ok    /metrics (labmcp_ready 0, labmcp_upstream_up 0)" in lines


def test_health_check_passes_a_ready_pod_and_still_shows_its_warnings(status_stub: tuple[str, Path]) -> None:
    url, routes = status_stub
    serve(
        routes,
        (200, {"status": "ready", "warnings": ["labarchives: LabArchives unavailable: timeout"]}),
        "labmcp_ready 1\n",
    )
    proc = sh("health-check.sh", "--url", url)
    assert proc.returncode == 0, proc.stdout
    assert "      warning: labarchives: LabArchives unavailable: timeout" in proc.stdout.splitlines()


def test_health_check_fails_every_route_when_nothing_listens() -> None:
    proc = sh("health-check.sh", "--url", f"http://127.0.0.1:{free_port()}", "--timeout", "2")
    assert proc.returncode == 1
    assert [line.split()[0] for line in proc.stdout.splitlines()] == ["FAIL", "FAIL", "FAIL"]


@pytest.mark.parametrize(
    "args", [["--url", "127.0.0.1:8000"], ["--url", "ftp://x"], ["--timeout", "0"], ["--timeout", "x"]]
)
def test_health_check_refuses_invalid_options(args: list[str]) -> None:
    proc = sh("health-check.sh", *args)
    assert proc.returncode == 2 and proc.stderr.startswith("health-check.sh: ")


def only(command: str, tmp_path: Path) -> str:
    """A PATH holding the shell's tools but, of curl, wget and python3, only ``command``."""
    bin_dir = tmp_path / f"bin-{command}"
    bin_dir.mkdir()
    for name in ("sh", "awk", "cat", "mktemp", "rm", "grep", "sed", "tr", command):
        # python3 may be a version manager's shell shim; link the interpreter running this test.
        found = str(Path(sys.executable).resolve()) if name == "python3" else shutil.which(name)
        assert found, name
        (bin_dir / name).symlink_to(found)
    return str(bin_dir)
