"""What the rendered overlays promise: the server's real command line, probes on real routes, the
resource and security settings of issue 6, settings the server knows, and a paced upstream rate."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from labmcp.auth.surface import PATHS, serves
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


def secret_template(overlay: str = "") -> dict[str, Any]:
    """The credentials Secret template the overlay's pods read (the institution has its own)."""
    if overlay == "institution":
        docs = load_yaml((K8S / "overlays" / "institution" / "secret.template.yaml").read_text(encoding="utf-8"))
        return next(d for d in docs if d["metadata"]["name"] == "labmcp-institution-credentials")
    (doc,) = load_yaml((K8S / "base" / "secret.template.yaml").read_text(encoding="utf-8"))
    result: dict[str, Any] = doc
    return result


def pod_env(overlay: str, docs: list[dict[str, Any]], tmp_path: Path) -> dict[str, str]:
    """The pod's environment with placeholder credentials; a token keys file where the overlay names one."""
    env = {**config_data(docs), **{k: f"test-{k.lower()}" for k in secret_template(overlay)["stringData"]}}
    if "LABMCP_TOKEN_KEYS_FILE" in env:
        keys = tmp_path / "keys"
        keys.write_text("k1=" + "A" * 43 + "=\n")
        env["LABMCP_TOKEN_KEYS_FILE"] = str(keys)
    return env


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
def test_server_accepts_the_rendered_command_args_and_env(overlay: str, tmp_path: Path) -> None:
    """The real config parser, fed the pod's args plus its ConfigMap and template Secret, must accept
    them and bind where the probes and Service look."""
    docs = documents(overlay)
    container = server_container(docs)
    assert container["command"] == ["python", "/app/labmcp.pyz"]
    settings = load(container["args"], pod_env(overlay, docs, tmp_path))
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
    mounts = {m["mountPath"]: m.get("readOnly", False) for m in container["volumeMounts"]}
    extra = {"/etc/labmcp/token-keys": True} if overlay == "institution" else {}
    assert mounts == {"/tmp": False, **extra}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_replicas_times_pacing_keep_the_account_at_one_call_per_second(overlay: str) -> None:
    """§ throttling: calls spaced >= 1 s per account. Each replica paces alone at the interval times
    LABMCP_REPLICAS, so that product must be at least maxReplicas seconds."""
    docs = documents(overlay)
    config = config_data(docs)
    interval = float(config["LABARCHIVES_REQUEST_INTERVAL"]) * int(config.get("LABMCP_REPLICAS", "1"))
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
    assert container["envFrom"][1]["secretRef"]["name"] == secret_template(overlay)["metadata"]["name"]
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
    paths = rule["http"]["paths"]
    assert paths[0]["path"] == "/mcp" and len(paths) == (7 if overlay == "institution" else 1)
    assert all(p["backend"]["service"] == {"name": "labmcp", "port": {"name": "mcp"}} for p in paths)
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


def test_institution_signs_users_in_statelessly_behind_tls_on_several_replicas(tmp_path: Path) -> None:
    """Issue 15's overlay: oauth, stateless, HPA > 1, token keys from a Secret file, an Ingress with TLS
    whose host is the public URL (the token audience) and that routes every OAuth path the server
    serves, no session affinity, and each replica's pacing share sized for the HPA maximum."""
    docs = documents("institution")
    container = server_container(docs)
    settings = load(container["args"], pod_env("institution", docs, tmp_path))
    assert settings.auth.mode == "oauth" and settings.http.stateless
    hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > 1
    assert settings.auth.replicas == hpa["maxReplicas"]
    assert one(docs, "Service")["spec"]["sessionAffinity"] == "None"
    ingress = one(docs, "Ingress")
    assert "nginx.ingress.kubernetes.io/upstream-hash-by" not in ingress["metadata"]["annotations"]
    (rule,) = ingress["spec"]["rules"]
    (tls,) = ingress["spec"]["tls"]
    assert settings.auth.public_url == f"https://{rule['host']}" and rule["host"] in tls["hosts"]
    assert settings.auth.resource_url == f"https://{rule['host']}/mcp"
    routed = {(p["path"], p["pathType"]) for p in rule["http"]["paths"]}
    for path in [*sorted(PATHS), "/auth/callback/some-state"]:
        assert serves(path)
        assert (path, "Exact") in routed or any(
            kind == "Prefix" and path.startswith(prefix + "/") for prefix, kind in routed
        ), path
    keys_volume = next(
        v for v in one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"] if v["name"] == "token-keys"
    )
    keys_mount = next(m for m in container["volumeMounts"] if m["name"] == "token-keys")
    assert config_data(docs)["LABMCP_TOKEN_KEYS_FILE"] == keys_mount["mountPath"] + "/keys"
    templates = load_yaml((K8S / "overlays" / "institution" / "secret.template.yaml").read_text(encoding="utf-8"))
    keys_secret = next(d for d in templates if d["metadata"]["name"] == keys_volume["secret"]["secretName"])
    assert set(keys_secret["stringData"]) == {"keys"}
    assert set(secret_template("institution")["stringData"]) == {"LABARCHIVES_AKID", "LABARCHIVES_SECRET"}
