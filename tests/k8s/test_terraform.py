"""k8s/terraform offline: every file parses (python-hcl2, and checkov's own fork of it), `terraform fmt
-check`, checkov with inline skips that carry reasons, and the ECS task compared with the Kubernetes
Deployment it mirrors (command, ports, probes, user, read-only root, memory and CPU, settings, secrets).

`terraform init/validate/plan` cannot run here: they download the AWS provider, and nothing but the
package registries is reachable. python-hcl2 is the parser oracle, checkov the policy oracle.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import hcl2
import pytest

from labmcp.config import load
from tests.k8s.test_dockerfile import healthcheck_command
from tests.k8s.test_manifests import KNOWN_ENV, SECRET_ENV, config_data, secret_template, server_container
from tests.k8s.tools import K8S, documents, one, run, tool

TERRAFORM = K8S / "terraform"
ECS = TERRAFORM / "modules" / "ecs"
RDS = TERRAFORM / "modules" / "rds"
ENVIRONMENTS = TERRAFORM / "environments"
# The Terraform environments, each mirroring the Kubernetes overlay of the same name.
ENVS = ("dev", "staging", "prod")
HCL_FILES = sorted(p for p in TERRAFORM.rglob("*") if p.suffix in {".tf", ".tfvars"} and ".terraform" not in p.parts)
_OPTIONS = hcl2.SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
_REFERENCE = re.compile(r"^\$\{(?:tostring\()?var\.(\w+)\)?\}$")


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        result: dict[str, Any] = hcl2.load(handle, serialization_options=_OPTIONS)
    return result


def module_files(directory: Path) -> list[dict[str, Any]]:
    return [parse(path) for path in sorted(directory.glob("*.tf"))]


def blocks(directory: Path, kind: str) -> dict[str, Any]:
    """Every block of one kind (``variable``, ``locals``, ``module`` ...) in a module, merged by name."""
    merged: dict[str, Any] = {}
    for doc in module_files(directory):
        for block in doc.get(kind, []):
            merged.update(block)
    return merged


def resources(directory: Path, kind: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a module, by name."""
    found: dict[str, dict[str, Any]] = {}
    for doc in module_files(directory):
        for block in doc.get("resource", []):
            found.update(block.get(kind, {}))
    return found


def single(value: Any) -> dict[str, Any]:
    """A nested block written once (python-hcl2 gives a list of one)."""
    if isinstance(value, list):
        (value,) = value
    assert isinstance(value, dict)
    return value


def defaults(directory: Path) -> dict[str, Any]:
    return {name: spec["default"] for name, spec in blocks(directory, "variable").items() if "default" in spec}


def ecs_inputs(env: str) -> dict[str, Any]:
    """What the environment passes to the ECS module over the module's defaults, with the global
    variables it forwards taken from the environment's example.tfvars or their defaults."""
    site = {**defaults(TERRAFORM), **parse(ENVIRONMENTS / env / "example.tfvars")}
    passed = blocks(ENVIRONMENTS / env, "module")["ecs"]
    forwarded = {
        k: site[m.group(1)] for k, v in passed.items() if (m := _REFERENCE.match(str(v))) and m.group(1) in site
    }
    return {**defaults(ECS), **passed, **forwarded}


def container() -> dict[str, Any]:
    result: dict[str, Any] = blocks(ECS, "locals")["container"]
    return result


def ecs_environment(env: str) -> dict[str, str]:
    """The container's environment in one environment, the way Terraform would render it."""
    inputs = ecs_inputs(env)

    def value(expr: Any) -> str:
        match = _REFERENCE.match(str(expr))
        assert match, f"unexpected expression {expr!r}"
        raw = inputs[match.group(1)]
        return str(raw).lower() if isinstance(raw, bool) else str(raw)

    env_vars = {name: value(expr) for name, expr in blocks(ECS, "locals")["environment"].items()}
    optional = blocks(ECS, "locals")["optional_environment"]
    assert set(optional) == {"LABMCP_DEMO", "LABARCHIVES_NOTEBOOK_NAME", "LABARCHIVES_FOLDER_PATH"}
    if inputs["demo"]:
        env_vars["LABMCP_DEMO"] = "true"
    for name, key in (("LABARCHIVES_NOTEBOOK_NAME", "notebook_name"), ("LABARCHIVES_FOLDER_PATH", "folder_path")):
        if inputs[key]:
            env_vars[name] = inputs[key]
    return env_vars


# --- the files parse and are formatted --------------------------------------------------------


def test_there_is_terraform_for_ecs_rds_and_three_environments_with_global_variables() -> None:
    assert resources(ECS, "aws_ecs_service") and resources(ECS, "aws_ecs_task_definition")
    assert resources(RDS, "aws_db_instance")
    assert sorted(p.name for p in ENVIRONMENTS.iterdir()) == sorted(ENVS)
    assert (TERRAFORM / "variables.tf").is_file()


@pytest.mark.parametrize("path", HCL_FILES, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_file_parses_with_python_hcl2(path: Path) -> None:
    assert parse(path), f"{path} is empty"


def test_every_file_parses_with_the_hcl_fork_checkov_scans_with() -> None:
    """checkov skips a file its parser rejects without failing, so its pass would prove nothing."""
    script = "import hcl2, sys\nfor name in sys.argv[1:]:\n    with open(name) as f:\n        hcl2.load(f)\n"
    run([tool("python", venv_only=True), "-c", script, *map(str, HCL_FILES)])


def test_terraform_fmt_check_passes() -> None:
    """Needs no provider, so it runs offline where a terraform binary exists. Terraform is not in any
    registry this project installs from, so a machine without it skips, unless
    LABMCP_REQUIRE_TERRAFORM=1."""
    terraform = shutil.which("terraform")
    if terraform is None:
        if os.environ.get("LABMCP_REQUIRE_TERRAFORM") == "1":
            pytest.fail("terraform not on PATH")
        pytest.skip(
            "terraform not on PATH (not installable from PyPI, Debian or npm); python-hcl2 still parses every file"
        )
    run([terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)])


def test_environments_use_the_global_variables_and_every_one_of_them() -> None:
    declared = set(blocks(TERRAFORM, "variable"))
    for env in ENVS:
        link = ENVIRONMENTS / env / "variables.tf"
        assert link.is_symlink() and link.resolve() == (TERRAFORM / "variables.tf").resolve()
        text = (ENVIRONMENTS / env / "main.tf").read_text(encoding="utf-8")
        used = set(re.findall(r"\bvar\.(\w+)", text))
        assert used == declared, f"{env}: unused {declared - used}, undeclared {used - declared}"
        example = parse(ENVIRONMENTS / env / "example.tfvars")
        assert set(example) <= declared
        required = {name for name, spec in blocks(TERRAFORM, "variable").items() if "default" not in spec}
        assert required <= set(example), f"{env}/example.tfvars misses {required - set(example)}"


@pytest.mark.parametrize("module", [ECS, RDS], ids=lambda p: p.name)
def test_every_module_variable_is_used_by_the_module(module: Path) -> None:
    text = "\n".join(path.read_text(encoding="utf-8") for path in sorted(module.glob("*.tf")))
    unused = {name for name in blocks(module, "variable") if f"var.{name}" not in text}
    assert not unused, f"{module.name}: unused variables {sorted(unused)}"


@pytest.mark.parametrize("env", ENVS)
def test_module_calls_pass_every_required_input_and_nothing_unknown(env: str) -> None:
    for name, call in blocks(ENVIRONMENTS / env, "module").items():
        variables = blocks((ENVIRONMENTS / env / call["source"]).resolve(), "variable")
        passed = set(call) - {"source"}
        assert passed <= set(variables), f"{name}: unknown inputs {passed - set(variables)}"
        required = {v for v, spec in variables.items() if "default" not in spec}
        assert required <= passed, f"{name}: missing {required - passed}"


# --- checkov ----------------------------------------------------------------------------------

SKIP = re.compile(r"#\s*checkov:skip=(CKV\w+):(.*)$", re.MULTILINE)


def checkov_terraform(*args: str) -> str:
    config = str(K8S / "checkov.yaml")
    return run(
        [tool("checkov"), "--config-file", config, "--skip-download", "--framework", "terraform", *args], timeout=300
    )


def test_environments_and_modules_pass_checkov() -> None:
    summary = json.loads(checkov_terraform("--directory", str(TERRAFORM), "--output", "json"))["summary"]
    assert (summary["failed"], summary["parsing_errors"]) == (0, 0) and summary["passed"] > 100
    assert summary["skipped"] == len({m.group(1) for path in HCL_FILES for m in SKIP.finditer(path.read_text())})


def test_rds_module_passes_checkov_when_enabled(tmp_path: Path) -> None:
    """Off by default, checkov would see no instance at all; scan it switched on."""
    values = tmp_path / "on.tfvars"
    values.write_text(
        'enabled = true\nname = "labmcp-x"\nvpc_id = "vpc-1"\nprivate_subnet_ids = ["subnet-1", "subnet-2"]\n'
        'client_security_group_ids = ["sg-1"]\n',
        encoding="utf-8",
    )
    scan = ("--directory", str(RDS), "--var-file", str(values), "--output", "json")
    summary = json.loads(checkov_terraform(*scan))["summary"]
    assert (summary["failed"], summary["parsing_errors"]) == (0, 0) and summary["resource_count"] >= 7
    # Encrypted, not public, deletion protection, backups kept, Multi-AZ: each really evaluated.
    wanted = ("CKV_AWS_16", "CKV_AWS_17", "CKV_AWS_293", "CKV_AWS_133", "CKV_AWS_157")
    summary = json.loads(checkov_terraform(*scan, "--check", ",".join(wanted)))["summary"]
    assert (summary["passed"], summary["failed"]) == (len(wanted), 0)


def test_every_inline_checkov_skip_has_a_reason() -> None:
    skips = [m for path in HCL_FILES for m in SKIP.finditer(path.read_text(encoding="utf-8"))]
    assert skips, "the skips are documented inline; none found"
    for match in skips:
        assert len(match.group(2).strip()) > 40, f"{match.group(1)} is skipped without a reason"


# --- the ECS task is the Deployment -----------------------------------------------------------


def test_ecs_container_runs_the_deployments_command_ports_user_and_read_only_root() -> None:
    docs = documents("prod")
    k8s = server_container(docs)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    ecs = container()
    assert ecs["entryPoint"] == k8s["command"]
    assert ecs["command"] == k8s["args"]
    assert [(p["name"], p["containerPort"]) for p in ecs["portMappings"]] == [
        (p["name"], p["containerPort"]) for p in k8s["ports"]
    ]
    context = k8s["securityContext"]
    assert ecs["user"] == f"{context['runAsUser']}:{context['runAsGroup']}"
    assert ecs["readonlyRootFilesystem"] is context["readOnlyRootFilesystem"] is True
    assert ecs["privileged"] is context["privileged"] is False
    assert ecs["linuxParameters"]["capabilities"]["drop"] == context["capabilities"]["drop"]
    assert ecs["stopTimeout"] == pod["terminationGracePeriodSeconds"]
    # ECS drains the target before SIGTERM (no preStop); the stop timeout must cover the server's own
    # shutdown: readiness 503 for the delay, then the grace for in-flight calls.
    settings = load(
        ecs["command"],
        {
            **ecs_environment("prod"),
            "LABMCP_HTTP_TOKEN": "t",
            "LABARCHIVES_AKID": "a",
            "LABARCHIVES_SECRET": "s",
            "LABARCHIVES_UID": "u",
        },
    )
    assert ecs["stopTimeout"] > settings.http.shutdown_delay + settings.http.shutdown_grace + 1
    (group,) = resources(ECS, "aws_lb_target_group").values()
    assert group["deregistration_delay"] >= settings.http.shutdown_grace
    mounts = {m["mountPath"] for m in k8s["volumeMounts"]}
    assert {m["containerPath"] for m in ecs["mountPoints"]} == mounts


def test_ecs_probes_are_the_deployments_on_the_same_port() -> None:
    k8s = server_container(documents("prod"))
    ports = {p["name"]: p["containerPort"] for p in k8s["ports"]}
    ecs = container()
    # Liveness: the container health check, the same command as the image's HEALTHCHECK.
    assert ecs["healthCheck"]["command"] == ["CMD", *healthcheck_command()]
    assert k8s["livenessProbe"]["httpGet"]["path"] in ecs["healthCheck"]["command"][-1]
    assert (
        ecs["healthCheck"]["startPeriod"]
        >= k8s["startupProbe"]["periodSeconds"] * k8s["startupProbe"]["failureThreshold"]
    )
    # Readiness: the target group's health check decides who gets traffic.
    (group,) = resources(ECS, "aws_lb_target_group").values()
    check = single(group["health_check"])
    assert check["path"] == k8s["readinessProbe"]["httpGet"]["path"]
    assert int(check["port"]) == ports[k8s["readinessProbe"]["httpGet"]["port"]]
    assert group["port"] == ports["mcp"]
    (service,) = resources(ECS, "aws_ecs_service").values()
    balancer = single(service["load_balancer"])
    assert (balancer["container_name"], balancer["container_port"]) == (ecs["name"], ports["mcp"])


def test_ecs_memory_and_cpu_are_the_deployments() -> None:
    limits = server_container(documents("prod"))["resources"]
    ecs = container()
    assert f"{ecs['memory']}Mi" == limits["limits"]["memory"]
    assert f"{ecs['memoryReservation']}Mi" == limits["requests"]["memory"]
    assert ecs["cpu"] == round(int(limits["requests"]["cpu"].removesuffix("m")) * 1024 / 1000)
    (task,) = resources(ECS, "aws_ecs_task_definition").values()
    assert int(task["cpu"]) == round(int(limits["limits"]["cpu"].removesuffix("m")) * 1024 / 1000)
    assert task["container_definitions"] == "${jsonencode([local.container])}"
    assert task["requires_compatibilities"] == ["FARGATE"]


def test_ecs_sets_every_setting_the_configmaps_set_and_only_known_ones() -> None:
    configmap_names = {name for env in ENVS for name in config_data(documents(env))}
    ecs_names = set(blocks(ECS, "locals")["environment"]) | set(blocks(ECS, "locals")["optional_environment"])
    assert configmap_names <= ecs_names, configmap_names - ecs_names
    assert ecs_names <= KNOWN_ENV, ecs_names - KNOWN_ENV
    expression = container()["environment"]
    assert "merge(local.environment, local.optional_environment, var.extra_environment)" in expression


def test_credentials_are_container_secrets_from_secrets_manager_never_environment() -> None:
    template = set(secret_template()["stringData"])
    keys = blocks(ECS, "variable")["credential_keys"]
    assert set(keys["default"]) == template
    ecs_names = set(blocks(ECS, "locals")["environment"]) | set(blocks(ECS, "locals")["optional_environment"])
    assert not ecs_names & (SECRET_ENV | template)
    secrets = container()["secrets"]
    assert "var.credential_keys" in secrets and 'valueFrom = "${var.credentials_secret_arn}:${key}::"' in secrets
    assert "credentials_secret_arn" not in json.dumps(container()["environment"])
    # extra_environment refuses credential names.
    validation = json.dumps(blocks(ECS, "variable")["extra_environment"]["validation"])
    assert all(name in validation for name in template)


@pytest.mark.parametrize("env", ENVS)
def test_each_environment_matches_its_overlay(env: str) -> None:
    docs = documents(env)
    hpa = one(docs, "HorizontalPodAutoscaler")["spec"]
    deployment = one(docs, "Deployment")["spec"]
    data = config_data(docs)
    inputs = ecs_inputs(env)
    assert (inputs["min_count"], inputs["max_count"]) == (hpa["minReplicas"], hpa["maxReplicas"])
    assert inputs["desired_count"] == deployment.get("replicas", 1)
    rendered = ecs_environment(env)
    for name in ("LABARCHIVES_LOG_LEVEL", "LABARCHIVES_LOG_JSON", "LABARCHIVES_REGION", "LABMCP_SHUTDOWN_GRACE"):
        assert rendered[name] == data[name], name
    assert float(rendered["LABARCHIVES_REQUEST_INTERVAL"]) == float(data["LABARCHIVES_REQUEST_INTERVAL"])
    assert rendered.get("LABMCP_DEMO") == data.get("LABMCP_DEMO")
    assert rendered.get("LABARCHIVES_NOTEBOOK_NAME") == data.get("LABARCHIVES_NOTEBOOK_NAME")
    assert inputs["request_interval"] >= inputs["max_count"]
    targets = {m["resource"]["name"]: m["resource"]["target"]["averageUtilization"] for m in hpa["metrics"]}
    assert (inputs["cpu_target"], inputs["memory_target"]) == (targets["cpu"], targets["memory"])


_VALIDATE_AGAINST_ECS_MODEL = """
import json, sys
import botocore.session
from botocore.validate import ParamValidator
model = botocore.session.get_session().get_service_model("ecs")
shape = model.operation_model("RegisterTaskDefinition").input_shape
report = ParamValidator().validate(json.load(sys.stdin), shape)
if report.has_errors():
    sys.exit(report.generate_report())
"""


def task_definition_request(env: str) -> dict[str, Any]:
    """What Terraform would send as RegisterTaskDefinition for one environment; references that only
    exist at apply time (log group, region) become example strings, as they are strings there too."""
    inputs = {**ecs_inputs(env), "name": f"labmcp-{env}"}

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items() if not k.startswith("__")}
        if isinstance(value, list):
            return [resolve(v) for v in value]
        if isinstance(value, str) and (match := _REFERENCE.match(value)):
            return inputs[match.group(1)]
        if isinstance(value, str) and value.startswith("${"):
            return "resolved-at-apply"
        return value

    definition = resolve(container())
    definition["environment"] = [{"name": k, "value": v} for k, v in sorted(ecs_environment(env).items())]
    keys = parse(ENVIRONMENTS / env / "example.tfvars")["credential_keys"]
    arn = parse(ENVIRONMENTS / env / "example.tfvars")["credentials_secret_arn"]
    definition["secrets"] = [{"name": key, "valueFrom": f"{arn}:{key}::"} for key in keys]
    (task,) = resources(ECS, "aws_ecs_task_definition").values()
    platform = single(task["runtime_platform"])
    return {
        "family": inputs["name"],
        "networkMode": task["network_mode"],
        "requiresCompatibilities": task["requires_compatibilities"],
        "cpu": task["cpu"],
        "memory": task["memory"],
        "runtimePlatform": {
            "operatingSystemFamily": platform["operating_system_family"],
            "cpuArchitecture": resolve(platform["cpu_architecture"]),
        },
        "volumes": [{"name": single(task["volume"])["name"]}],
        "containerDefinitions": [definition],
    }


@pytest.mark.parametrize("env", ENVS)
def test_the_task_definition_matches_the_ecs_api_model(env: str) -> None:
    """AWS's own API model (botocore's, in the tools venv through checkov) judges every field name,
    type and required member of the container definition, which Terraform would only send at apply."""
    request = json.dumps(task_definition_request(env))
    proc = subprocess.run(
        [tool("python", venv_only=True), "-c", _VALIDATE_AGAINST_ECS_MODEL],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_the_ecs_model_check_refuses_a_misspelt_field() -> None:
    """Guards the check above: a field the API does not know must fail it."""
    request = task_definition_request("prod")
    request["containerDefinitions"][0]["readOnlyRootFilesystem"] = True
    proc = subprocess.run(
        [tool("python", venv_only=True), "-c", _VALIDATE_AGAINST_ECS_MODEL],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0 and "readOnlyRootFilesystem" in proc.stderr


@pytest.mark.parametrize("env", ENVS)
def test_the_server_accepts_the_ecs_command_and_environment(env: str) -> None:
    """The real config parser, fed the task's command, rendered environment and test credentials."""
    secrets = {key: f"test-{key.lower()}" for key in parse(ENVIRONMENTS / env / "example.tfvars")["credential_keys"]}
    settings = load(container()["command"], {**ecs_environment(env), **secrets})
    assert (settings.http.port, settings.http.health_port) == (8080, 8000)
    assert settings.http.allowed_hosts == (parse(ENVIRONMENTS / env / "example.tfvars")["domain_name"],)


def test_autoscaling_keeps_the_hpa_targets_and_its_scale_down_window() -> None:
    hpa = one(documents("prod"), "HorizontalPodAutoscaler")["spec"]
    (policy,) = resources(ECS, "aws_appautoscaling_policy").values()
    config = single(policy["target_tracking_scaling_policy_configuration"])
    assert config["scale_in_cooldown"] == hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"]
    assert single(config["predefined_metric_specification"])["predefined_metric_type"] == "${each.value.metric}"
    assert config["target_value"] == "${each.value.target}"
    metrics = {name: (spec["metric"], spec["target"]) for name, spec in policy["for_each"].items()}
    assert metrics == {
        "cpu": ("ECSServiceAverageCPUUtilization", "${var.cpu_target}"),
        "memory": ("ECSServiceAverageMemoryUtilization", "${var.memory_target}"),
    }
    targets = {m["resource"]["name"] for m in hpa["metrics"]}
    assert targets == set(metrics)
    (target,) = resources(ECS, "aws_appautoscaling_target").values()
    assert (target["min_capacity"], target["max_capacity"]) == ("${var.min_count}", "${var.max_count}")


# --- the edge: HTTPS only ---------------------------------------------------------------------


def test_only_443_crosses_the_edge_in_and_out() -> None:
    rules = {
        **resources(ECS, "aws_vpc_security_group_ingress_rule"),
        **resources(ECS, "aws_vpc_security_group_egress_rule"),
    }
    by_address = [rule for rule in rules.values() if "cidr_ipv4" in rule or "cidr_ipv6" in rule]
    assert by_address
    for rule in by_address:
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443), rule
    ports = {p["containerPort"] for p in container()["portMappings"]}
    for rule in rules.values():
        if "referenced_security_group_id" in rule:
            assert rule["ip_protocol"] == "tcp" and "${each.value}" == rule["from_port"] == rule["to_port"]
            assert set(rule["for_each"].values()) == ports
    assert not resources(ECS, "aws_security_group_rule")
    assert all("ingress" not in sg and "egress" not in sg for sg in resources(ECS, "aws_security_group").values())
    listeners = resources(ECS, "aws_lb_listener")
    assert [(lst["port"], lst["protocol"]) for lst in listeners.values()] == [(443, "HTTPS")]
    (rule,) = resources(ECS, "aws_lb_listener_rule").values()
    assert single(single(rule["condition"])["path_pattern"])["values"] == ["/mcp"]
    for cidr in defaults(ECS)["allowed_cidrs"]:
        ipaddress.ip_network(cidr)


def test_tasks_get_no_public_ip_and_run_on_fargate_latest() -> None:
    (service,) = resources(ECS, "aws_ecs_service").values()
    assert single(service["network_configuration"])["assign_public_ip"] is False
    assert (service["launch_type"], service["platform_version"]) == ("FARGATE", "LATEST")
    assert service["deployment_minimum_healthy_percent"] == 100


# --- RDS: off by default, encrypted, private ---------------------------------------------------


def test_rds_is_off_by_default_and_creates_nothing_then() -> None:
    assert blocks(RDS, "variable")["enabled"]["default"] is False
    for kind in (
        "aws_db_instance",
        "aws_db_subnet_group",
        "aws_db_parameter_group",
        "aws_security_group",
        "aws_iam_role",
    ):
        for resource in resources(RDS, kind).values():
            assert resource["count"] == "${local.count}", kind
    assert blocks(RDS, "locals")["count"] == "${var.enabled ? 1 : 0}"
    for env in ENVS:
        assert blocks(ENVIRONMENTS / env, "module")["rds"]["enabled"] == "${var.rds_enabled}"
    assert blocks(TERRAFORM, "variable")["rds_enabled"]["default"] is False


def test_rds_is_encrypted_private_tls_only_with_backup_and_maintenance_windows() -> None:
    (db,) = resources(RDS, "aws_db_instance").values()
    assert db["storage_encrypted"] is True and db["publicly_accessible"] is False
    assert db["manage_master_user_password"] is True and "password" not in db
    (subnets,) = resources(RDS, "aws_db_subnet_group").values()
    assert subnets["subnet_ids"] == "${var.private_subnet_ids}"
    (params,) = resources(RDS, "aws_db_parameter_group").values()
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameter"]
    variables = defaults(RDS)
    backup = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", variables["backup_window"])
    maintenance = re.fullmatch(r"(sun):(\d\d):(\d\d)-(sun):(\d\d):(\d\d)", variables["maintenance_window"])
    assert backup and maintenance
    backup_end = int(backup.group(3)) * 60 + int(backup.group(4))
    maintenance_start = int(maintenance.group(2)) * 60 + int(maintenance.group(3))
    assert backup_end <= maintenance_start, "AWS refuses overlapping backup and maintenance windows"
    assert db["backup_window"] == "${var.backup_window}" and db["maintenance_window"] == "${var.maintenance_window}"
    assert variables["backup_retention_days"] >= 1
    (ingress,) = resources(RDS, "aws_vpc_security_group_ingress_rule").values()
    assert "cidr_ipv4" not in ingress and ingress["from_port"] == ingress["to_port"] == 5432


def test_terraform_state_and_real_values_are_kept_out_of_git() -> None:
    ignored = (TERRAFORM / ".gitignore").read_text(encoding="utf-8").split()
    assert {"terraform.tfvars", "*.tfstate", ".terraform/"} <= set(ignored)
    proc = subprocess.run(
        ["git", "check-ignore", "-q", str(ENVIRONMENTS / "prod" / "terraform.tfvars")], cwd=K8S, check=False
    )
    assert proc.returncode == 0
