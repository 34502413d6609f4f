"""Issue 6 contract: start the real server with the rendered Deployment's command, args and env
(secrets replaced by test values, demo data instead of LabArchives, free ports instead of 8080/8000)
and hit its probe paths, its /metrics and the Dockerfile's HEALTHCHECK."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.k8s.test_dockerfile import healthcheck_command
from tests.k8s.test_manifests import config_data, secret_template, server_container
from tests.k8s.test_monitoring import exposed_names
from tests.k8s.test_scripts import free_port
from tests.k8s.tools import documents, metric_names

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("labmcp.transports.http") is None,
    reason="the Streamable HTTP transport (labmcp/transports/http.py) is not in this tree yet",
)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            code: int = response.status
            return code
    except urllib.error.HTTPError as exc:
        return exc.code


@dataclass(frozen=True)
class Running:
    health: str
    mcp_port: int
    env: dict[str, str]


@pytest.fixture
def server() -> Iterator[Running]:
    docs = documents("dev")
    container = server_container(docs)
    health, mcp = free_port(), free_port()
    args = [{"8000": str(health), "8080": str(mcp)}.get(arg, arg) for arg in container["args"]]
    env = {**config_data(docs), **{k: f"test-{k.lower()}" for k in secret_template()["stringData"]}}
    assert env["LABMCP_DEMO"] == "true"
    # `python /app/labmcp.pyz` in the image; the same entry point from the source tree here.
    assert container["command"] == ["python", "/app/labmcp.pyz"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "labmcp", *args],
        env={"PATH": os.environ["PATH"], **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{health}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}")
            try:
                if status(base + "/health/ready") == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready within 30 s")
            time.sleep(0.1)  # polling another process's listener; there is no event to wait on
        yield Running(base, mcp, env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_probe_paths_answer_on_the_health_port(server: Running) -> None:
    container = server_container(documents("dev"))
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert status(server.health + container[probe]["httpGet"]["path"]) == 200


def test_mcp_port_answers_to_the_service_and_ingress_names_and_refuses_others(server: Running) -> None:
    """In a cluster the Host header is the Service's DNS name or the Ingress host, not localhost."""
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        }
    ).encode()
    token = server.env["LABMCP_HTTP_TOKEN"]

    def post(host: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.mcp_port, timeout=10)
        try:
            connection.putrequest("POST", "/mcp", skip_host=True)
            for key, value in {
                "Host": host,
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json, text/event-stream",
                "Content-Length": str(len(body)),
            }.items():
                connection.putheader(key, value)
            connection.endheaders(body)
            return connection.getresponse().status
        finally:
            connection.close()

    ingress_host = next(d for d in documents("dev") if d["kind"] == "Ingress")["spec"]["rules"][0]["host"]
    for host in (ingress_host, "labmcp:8080", "labmcp.labmcp-dev.svc.cluster.local:8080"):
        assert post(host) == 200, host
    assert post("attacker.example:8080") == 421


def test_metrics_route_exports_exactly_the_listed_series(server: Running) -> None:
    with urllib.request.urlopen(server.health + "/metrics", timeout=5) as response:
        text = response.read().decode()
    assert exposed_names(text) <= metric_names()
    assert "labmcp_ready 1" in text


def test_dockerfile_healthcheck_passes_against_the_server(server: Running) -> None:
    port = server.health.rsplit(":", 1)[1]
    proc = subprocess.run(
        [sys.executable, *healthcheck_command()[1:]],
        env={"LABMCP_HEALTH_PORT": port},
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
