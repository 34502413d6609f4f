"""The offline validators of issue 6 over everything in k8s/: Kubernetes schemas in strict mode,
checkov (skips only from k8s/checkov.yaml, each with its reason), yamllint, hadolint, shellcheck."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.k8s.tools import K8S, KUSTOMIZATIONS, render, run, tool

# The oldest Kubernetes minor still commonly run and the newest the schemas ship.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
SCRIPTS = [*sorted((K8S / "scripts").glob("*.sh")), K8S / "validate.sh"]


def rendered_file(name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(render(name), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_rendered_manifests_match_kubernetes_schemas_strictly(name: str, tmp_path: Path) -> None:
    path = rendered_file(name, tmp_path)
    for version in KUBERNETES_VERSIONS:
        out = run([tool("kubernetes-validate"), "--strict", "--kubernetes-version", version, str(path)])
        assert "passed for resource deployment/" in out


def test_secret_template_matches_kubernetes_schemas_strictly() -> None:
    template = K8S / "base" / "secret.template.yaml"
    run([tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSIONS[-1], str(template)])


def test_schema_validation_rejects_an_unknown_field(tmp_path: Path) -> None:
    """Guards the check above: strict mode must really refuse a misspelt probe field."""
    bad = render("prod").replace("periodSeconds: 10", "periodSecond: 10", 1)
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    args = [tool("kubernetes-validate"), "--strict", "--kubernetes-version", KUBERNETES_VERSIONS[-1], str(path)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode != 0 and "periodSecond" in proc.stdout + proc.stderr


def checkov(*args: str) -> str:
    config = str(K8S / "checkov.yaml")
    return run([tool("checkov"), "--config-file", config, "--skip-download", *args], timeout=180)


@pytest.mark.parametrize("name", sorted(KUSTOMIZATIONS))
def test_rendered_manifests_pass_checkov(name: str, tmp_path: Path) -> None:
    out = checkov("--framework", "kubernetes", "--file", str(rendered_file(name, tmp_path)))
    assert "Failed checks: 0" in out


def test_dockerfile_passes_checkov() -> None:
    out = checkov("--framework", "dockerfile", "--file", str(K8S / "Dockerfile"))
    assert "Failed checks: 0" in out


def test_every_checkov_skip_has_a_written_reason() -> None:
    lines = (K8S / "checkov.yaml").read_text(encoding="utf-8").splitlines()
    skipped = [line.strip()[2:] for line in lines if re.fullmatch(r"\s+- CKV\w+", line)]
    assert skipped
    for check in skipped:
        reason = [line for line in lines if line.strip().startswith(f"# {check} ")]
        assert reason and len(reason[0]) > 40, f"{check} is skipped without a reason"


def test_yaml_files_pass_yamllint() -> None:
    run([tool("yamllint"), "--strict", "-c", str(K8S / ".yamllint.yaml"), str(K8S)])


def test_dockerfile_passes_hadolint() -> None:
    run([tool("hadolint"), str(K8S / "Dockerfile")])


def test_ops_scripts_pass_shellcheck_as_posix_sh() -> None:
    assert len(SCRIPTS) == 8  # six ops scripts, their shared lib.sh, validate.sh
    run([tool("shellcheck"), "--shell=sh", "--severity=style", *map(str, SCRIPTS)])
