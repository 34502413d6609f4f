"""What the rendered overlays promise: the server's real command line, probes on real routes, the
resource and security settings of issue 6, settings the server knows, and a paced upstream rate."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from labmcp.config import OPTIONS, load
from labmcp.transports.health import ROUTES
from tests.k8s.tools import K8S, OVERLAYS, documents, load_yaml, one

KNOWN_ENV = {opt.env for opt in OPTIONS if opt.env}
SECRET_ENV = {opt.env for opt in OPTIONS if opt.env and opt.secret_file}
# The routes the health listener really serves, not a copy of them.
SERVER_ROUTES = {route.decode() for route in ROUTES}


def server_container(docs: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "labmcp")


def config_data(docs: list[dict[str, Any]]) -> dict[str, str]:
    data: dict[str, str] = one(docs, "ConfigMap")["data"]
    return data


def secret_template() -> dict[str, Any]:
    (doc,) = load_yaml((K8S / "base" / "secret.template.yaml").read_text(encoding="utf-8"))
    result: dict[str, Any] = doc
    return result


def test_secret_template_holds_only_placeholders_for_settings_the_server_reads() -> None:
    values = secret_template()["stringData"]
    assert set(values) <= KNOWN_ENV
    assert all(re.fullmatch(r"<[a-z-]+>", value) for value in values.values()), values
    assert {"LABARCHIVES_SECRET", "LABMCP_HTTP_TOKEN"} <= set(values)


@pytest.mark.parametrize("overlay", [*OVERLAYS, "sidecar"])
def test_configmap_names_only_settings_in_config_options(overlay: str) -> None:
    data = config_data(documents(overlay))
    assert set(data) <= KNOWN_ENV, set(data) - KNOWN_ENV
    assert not set(data) & SECRET_ENV, "credentials belong in the Secret"


@pytest.mark.parametrize("overlay", [*OVERLAYS, "sidecar"])
def test_server_accepts_the_rendered_command_args_and_env(overlay: str) -> None:
    """The real config parser, fed the pod's args plus its ConfigMap and template Secret, must accept
    them and bind where the probes and Service look."""
    docs = documents(overlay)
    container = server_container(docs)
    assert container["command"] == ["python", "/app/labmcp.pyz"]
    env = {**config_data(docs), **{k: f"test-{k.lower()}" for k in secret_template()["stringData"]}}
    settings = load(container["args"], env)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert settings.transport == "http"
    assert settings.http.health_port == ports["health"] == 8000
    assert settings.http.health_host == "0.0.0.0"
    if overlay == "sidecar":
        assert settings.http.host == "127.0.0.1" and settings.http.port == 8080 and "mcp" not in ports
    else:
        assert (settings.http.host, settings.http.port, ports["mcp"]) == ("0.0.0.0", 8080, 8080)
    assert settings.demo == (overlay == "dev")


@pytest.mark.parametrize("overlay", [*OVERLAYS, "sidecar"])
def test_probes_hit_the_health_listener_routes(overlay: str) -> None:
    container = server_container(documents(overlay))
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] == "health" and get["path"] in SERVER_ROUTES
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"


@pytest.mark.parametrize("overlay", [*OVERLAYS, "sidecar"])
def test_server_container_is_locked_down_with_the_issue_resources(overlay: str) -> None:
    docs = documents(overlay)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    container = server_container(docs)
    assert container["resources"] == {
        "requests": {"memory": "64Mi", "cpu": "250m"},
        "limits": {"memory": "128Mi", "cpu": "500m"},
    }
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["runAsNonRoot"] is True and sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/tmp"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replicas_times_pacing_keep_the_account_at_one_call_per_second(overlay: str) -> None:
    """§ throttling: calls spaced >= 1 s per account. Each replica paces alone, so the interval must be
    at least maxReplicas seconds."""
    docs = documents(overlay)
    interval = float(config_data(docs)["LABARCHIVES_REQUEST_INTERVAL"])
    assert interval >= one(docs, "HorizontalPodAutoscaler")["spec"]["maxReplicas"] * 1.0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policy_admits_only_mcp_clients_and_monitoring_and_lets_out_only_dns_and_https(overlay: str) -> None:
    docs = documents(overlay)
    policy = one(docs, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"].items() <= pod_labels.items()
    ingress = {(rule["ports"][0]["port"], json.dumps(rule["from"], sort_keys=True)) for rule in policy["ingress"]}
    assert ingress == {
        (8080, json.dumps([{"namespaceSelector": {"matchLabels": {"labmcp.io/mcp-client": "true"}}}])),
        (8000, json.dumps([{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}])),
    }
    egress_ports = {(p["port"], p["protocol"]) for rule in policy["egress"] for p in rule["ports"]}
    assert egress_ports == {(53, "UDP"), (53, "TCP"), (443, "TCP")}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_between_objects_resolves(overlay: str) -> None:
    docs = documents(overlay)
    deployment = one(docs, "Deployment")
    container = server_container(docs)
    config_ref = container["envFrom"][0]["configMapRef"]["name"]
    assert config_ref == one(docs, "ConfigMap")["metadata"]["name"], "generated ConfigMap name not propagated"
    assert container["envFrom"][1]["secretRef"]["name"] == secret_template()["metadata"]["name"]
    pod = deployment["spec"]["template"]
    assert pod["spec"]["serviceAccountName"] == one(docs, "ServiceAccount")["metadata"]["name"]
    labels = pod["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        spec = one(docs, kind)["spec"]
        selector = spec["selector"].get("matchLabels", spec["selector"])
        assert selector.items() <= labels.items(), kind
    service_ports = {p["name"]: p["targetPort"] for p in one(docs, "Service")["spec"]["ports"]}
    assert service_ports == {"mcp": "mcp", "health": "health"}
    (rule,) = one(docs, "Ingress")["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert path["path"] == "/mcp" and path["backend"]["service"] == {"name": "labmcp", "port": {"name": "mcp"}}
    assert one(docs, "HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    namespace = one(docs, "Namespace")["metadata"]["name"]
    assert all(doc["metadata"].get("namespace") == namespace for doc in docs if doc["kind"] != "Namespace")
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8000"


def test_prod_keeps_one_replica_through_drains_and_spreads_over_nodes() -> None:
    docs = documents("prod")
    assert one(docs, "PodDisruptionBudget")["spec"] == {
        "minAvailable": 1,
        "selector": one(docs, "PodDisruptionBudget")["spec"]["selector"],
    }
    assert one(docs, "HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2
    assert one(docs, "Deployment")["spec"]["template"]["spec"]["topologySpreadConstraints"]


def test_sidecar_agent_reaches_labmcp_over_localhost() -> None:
    docs = documents("sidecar")
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    agent = next(c for c in pod["containers"] if c["name"] == "agent")
    url = next(e["value"] for e in agent["env"] if e["name"] == "MCP_SERVER_URL")
    settings = load(server_container(docs)["args"], {"LABMCP_DEMO": "true"})
    assert url == f"http://127.0.0.1:{settings.http.port}/mcp"
