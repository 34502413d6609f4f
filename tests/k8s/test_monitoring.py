"""Prometheus config, alert rules and their unit tests pass promtool; every query in the rules and
the Grafana dashboard names only series the server's registry really exports (k8s/monitoring/metrics.txt)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Any

import pytest

from labmcp.transports.metrics import Metrics
from tests.k8s.tools import K8S, load_yaml, metric_names, run, tool

MONITORING = K8S / "monitoring"
# Series Prometheus itself adds to every target; not exported by the server.
PROMETHEUS_BUILTIN = {"up"}
SERIES = re.compile(r"\b((?:labmcp|process)_[a-z_]+|up)\b(?!\s*\()")


def exporting_registry() -> Metrics:
    """A registry that has seen one of everything, so every family renders at least one series."""
    metrics = Metrics("0.1.0", lambda: True, upstream_up=lambda: True)
    metrics.upstream_call("tree_tools/get_tree_level", "ok", 0.2)
    metrics.pacing_wait(0.5)
    metrics.retry("tree_tools/get_tree_level", "timeout")
    metrics.cache("tree_level", True)
    metrics.mcp_request("tools/call", "", "ok", 0.01)
    metrics.in_flight(1)
    return metrics


def exposed_names(text: str) -> set[str]:
    return {re.split(r"[{ ]", line, maxsplit=1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_metrics_list_is_exactly_what_the_registry_exports() -> None:
    assert exposed_names(exporting_registry().render()) == metric_names()


def test_registry_exposition_passes_promtool_check_metrics() -> None:
    proc = subprocess.run(
        [tool("promtool"), "check", "metrics"],
        input=exporting_registry().render(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def alert_rules() -> list[dict[str, Any]]:
    (doc,) = load_yaml((MONITORING / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((MONITORING / "grafana-dashboard.json").read_text(encoding="utf-8"))
    return result


def dashboard_queries() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel["targets"]]


def test_alert_rules_pass_promtool_check_rules() -> None:
    run([tool("promtool"), "check", "rules", "alerts.yml"], cwd=MONITORING)


def test_alert_rule_unit_tests_pass() -> None:
    out = run([tool("promtool"), "test", "rules", "alerts.test.yml"], cwd=MONITORING)
    assert "SUCCESS" in out


def test_every_alert_the_issue_names_exists_and_has_a_unit_test() -> None:
    names = {rule["alert"] for rule in alert_rules()}
    assert {"LabmcpDown", "LabmcpNotReady", "LabmcpUpstreamErrorRate", "LabmcpPacingSaturated"} <= names
    tests = (MONITORING / "alerts.test.yml").read_text(encoding="utf-8")
    assert all(f"alertname: {name}" in tests for name in names)


def test_compose_scrape_config_passes_promtool_check_config_as_shipped() -> None:
    """The file docker-compose.monitoring.yml mounts, checked as it is, rules included."""
    out = run([tool("promtool"), "check", "config", "prometheus.yml"], cwd=MONITORING)
    assert "SUCCESS" in out


def test_kubernetes_scrape_config_passes_promtool_or_only_lacks_its_service_discovery(tmp_path: Path) -> None:
    """With a promtool built with Kubernetes service discovery (release archives, prom/prometheus) the
    file is checked as shipped. Debian's promtool lacks it: then, and only for that error, everything but
    the discovery block (swapped for a static target) is checked, and the test says so."""
    promtool = tool("promtool")
    as_is = subprocess.run(
        [promtool, "check", "config", "prometheus-kubernetes.yml"],
        cwd=MONITORING,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if as_is.returncode == 0:
        return
    assert "field kubernetes_sd_configs not found" in as_is.stdout + as_is.stderr, as_is.stdout + as_is.stderr
    (config,) = load_yaml((MONITORING / "prometheus-kubernetes.yml").read_text(encoding="utf-8"))
    for job in config["scrape_configs"]:
        if job.pop("kubernetes_sd_configs", None) is not None:
            job["static_configs"] = [{"targets": ["127.0.0.1:8000"]}]
    (tmp_path / "prometheus.yml").write_text(json.dumps(config), encoding="utf-8")
    shutil.copy(MONITORING / "alerts.yml", tmp_path / "alerts.yml")
    run([promtool, "check", "config", "prometheus.yml"], cwd=tmp_path)
    warnings.warn(
        "this promtool has no Kubernetes service discovery: prometheus-kubernetes.yml was checked without "
        "its kubernetes_sd_configs block; the promtool of Prometheus' release archives checks it as is",
        stacklevel=1,
    )


def test_both_scrape_configs_load_the_same_rules_at_the_same_intervals() -> None:
    (compose,) = load_yaml((MONITORING / "prometheus.yml").read_text(encoding="utf-8"))
    (kubernetes,) = load_yaml((MONITORING / "prometheus-kubernetes.yml").read_text(encoding="utf-8"))
    assert compose["rule_files"] == kubernetes["rule_files"] == ["alerts.yml"]
    assert compose["global"] == kubernetes["global"]
    assert all(job["job_name"].startswith("labmcp") for job in compose["scrape_configs"] + kubernetes["scrape_configs"])


def test_pod_scrape_job_keeps_the_port_and_annotation_the_deployment_sets() -> None:
    (config,) = load_yaml((MONITORING / "prometheus-kubernetes.yml").read_text(encoding="utf-8"))
    (job,) = [job for job in config["scrape_configs"] if "kubernetes_sd_configs" in job]
    keeps = {(r["source_labels"][0], r["regex"]) for r in job["relabel_configs"] if r.get("action") == "keep"}
    assert keeps == {
        ("__meta_kubernetes_pod_annotation_prometheus_io_scrape", "true"),
        ("__meta_kubernetes_pod_container_port_name", "health"),
    }
    deployment = (K8S / "base" / "deployment.yaml").read_text(encoding="utf-8")
    assert 'prometheus.io/scrape: "true"' in deployment and "- name: health" in deployment


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_queries_name_only_exported_series(source: str) -> None:
    exprs = [rule["expr"] for rule in alert_rules()] if source == "alerts" else dashboard_queries()
    known = metric_names() | PROMETHEUS_BUILTIN
    for expr in exprs:
        used = set(SERIES.findall(expr))
        assert used, f"no metric in {expr!r}"
        assert used <= known, f"{sorted(used - known)} in {expr!r} is not exported"


def test_dashboard_shows_what_the_issue_asks_for() -> None:
    board = dashboard()
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    queries = "\n".join(dashboard_queries())
    assert "rate(labmcp_mcp_requests_total" in queries
    assert "histogram_quantile(0.95, sum by (method, le) (rate(labmcp_mcp_request_duration_seconds_bucket" in queries
    assert re.search(r"sum by \(outcome\) \(rate\(labmcp_upstream_requests_total\{[^}]*outcome!=\"ok\"", queries)
    assert "labmcp_upstream_pacing_wait_seconds_bucket" in queries
    assert "process_resident_memory_bytes" in queries
