"""The compose files (quick start, dev, prod, monitoring): valid against the compose specification
(check-jsonschema's vendored schema; no Docker engine here), every host path they mount exists, the
dev file builds the Dockerfile's development target with develop.watch, and the monitoring stack
mounts exactly the files the other k8s tests prove (promtool-checked Prometheus config, the alert
rules, the dashboard, the Fluent Bit pipeline)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.tools import K8S, ROOT, load_yaml, run, tool

COMPOSE_FILES = sorted(K8S.glob("docker-compose*.yml"))


def compose(name: str) -> dict[str, Any]:
    (doc,) = load_yaml((K8S / name).read_text(encoding="utf-8"))
    result: dict[str, Any] = doc
    return result


def binds(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of every bind mount, short or long syntax."""
    found = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume["type"] == "bind":
                found.append((volume["source"], volume["target"]))
        elif volume.startswith((".", "/")):
            source, target = volume.split(":")[:2]
            found.append((source, target))
    return found


def test_there_are_dev_prod_and_monitoring_files() -> None:
    names = {path.name for path in COMPOSE_FILES}
    assert {"docker-compose.dev.yml", "docker-compose.prod.yml", "docker-compose.monitoring.yml"} <= names


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_file_matches_the_compose_specification(path: Path) -> None:
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)])


def test_the_schema_check_refuses_a_misspelt_watch_action(tmp_path: Path) -> None:
    """Guards the check above: the vendored schema really knows develop.watch."""
    bad = (K8S / "docker-compose.dev.yml").read_text(encoding="utf-8").replace("action: restart", "action: reload")
    (tmp_path / "bad.yml").write_text(bad, encoding="utf-8")
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(tmp_path / "bad.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "reload" in proc.stdout + proc.stderr


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_mounted_host_path_exists(path: Path) -> None:
    for service in compose(path.name)["services"].values():
        for source, _ in binds(service):
            assert (K8S / source).resolve().exists(), f"{path.name}: {source} does not exist"
        build = service.get("build")
        if build:
            context = (K8S / build["context"]).resolve()
            assert (context / build["dockerfile"]).is_file()


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_services_drop_privileges_and_publish_on_loopback(path: Path) -> None:
    """Only the prod file's MCP port faces the network (behind a TLS proxy); the rest stays on loopback."""
    for name, service in compose(path.name)["services"].items():
        assert service.get("read_only") is True, name
        assert service.get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in service.get("security_opt", []), name
        for port in map(str, service.get("ports", [])):
            if (path.name, name, port) != ("docker-compose.prod.yml", "labmcp", "8080:8080"):
                assert port.startswith("127.0.0.1:"), f"{path.name}: {name} publishes {port} beyond loopback"


def test_dev_file_builds_the_development_target_mounts_the_source_and_watches_it() -> None:
    service = compose("docker-compose.dev.yml")["services"]["labmcp"]
    assert service["build"]["target"] == "development"
    dockerfile = (ROOT / "k8s" / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM \S+ AS development$", dockerfile, re.MULTILINE)
    mounts = dict(binds(service))
    assert mounts["../labmcp"] == "/src/labmcp" and mounts["../tests"] == "/src/tests"
    assert re.search(r"^ENV PYTHONPATH=/src ", dockerfile, re.MULTILINE), "the mounted source must win"
    watch = {(rule["path"], rule["action"]) for rule in service["develop"]["watch"]}
    assert ("../labmcp", "restart") in watch and ("../pyproject.toml", "rebuild") in watch
    assert service["environment"]["LABARCHIVES_LOG_LEVEL"] == "DEBUG"


def test_prod_file_runs_the_production_image_with_the_deployments_limits() -> None:
    service = compose("docker-compose.prod.yml")["services"]["labmcp"]
    assert service["build"].get("target", "production") == "production"
    limits = service["deploy"]["resources"]
    assert (limits["limits"]["memory"], limits["reservations"]["memory"]) == ("128m", "64m")
    assert service["environment"]["LABARCHIVES_LOG_JSON"] == "true"
    assert service["environment"]["LABARCHIVES_LOG_FILE"].startswith("/var/log/labmcp/")


def test_monitoring_mounts_the_files_the_other_checks_prove() -> None:
    services = compose("docker-compose.monitoring.yml")["services"]
    prometheus = dict(binds(services["prometheus"]))
    assert prometheus["./monitoring/prometheus.yml"] == "/etc/prometheus/prometheus.yml"
    assert prometheus["./monitoring/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    grafana = dict(binds(services["grafana"]))
    assert grafana["./monitoring/grafana-dashboard.json"].startswith("/etc/grafana/dashboards/")
    (provider,) = load_yaml((K8S / "monitoring" / "grafana" / "dashboards.yaml").read_text(encoding="utf-8"))
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards"
    (sources,) = load_yaml((K8S / "monitoring" / "grafana" / "datasources.yaml").read_text(encoding="utf-8"))
    kinds = {source["type"]: source["url"] for source in sources["datasources"]}
    assert kinds == {"prometheus": "http://prometheus:9090", "loki": "http://loki:3100"}
    shipper = dict(binds(services["fluent-bit"]))
    assert shipper["./logging/fluent-bit-compose.yaml"] == "/fluent-bit/etc/labmcp/fluent-bit.yaml"
    assert shipper["./logging/parsers.yaml"] == "/fluent-bit/etc/labmcp/parsers.yaml"
    assert "--config=/fluent-bit/etc/labmcp/fluent-bit.yaml" in services["fluent-bit"]["command"]
    assert "labmcp-logs:/var/log/labmcp:ro" in services["fluent-bit"]["volumes"]


def test_the_log_file_the_shipper_tails_is_the_one_prod_writes() -> None:
    (pipeline,) = load_yaml((K8S / "logging" / "fluent-bit-compose.yaml").read_text(encoding="utf-8"))
    (source,) = pipeline["pipeline"]["inputs"]
    prod = compose("docker-compose.prod.yml")["services"]["labmcp"]
    assert source["path"] == prod["environment"]["LABARCHIVES_LOG_FILE"]
    assert "labmcp-logs:/var/log/labmcp" in prod["volumes"]
    outputs = {out["host"] for out in pipeline["pipeline"]["outputs"]}
    assert outputs == {"loki"} and "loki" in compose("docker-compose.monitoring.yml")["services"]
