"""k8s/ci/github-workflow.yml: valid against the GitHub workflow schema (check-jsonschema's vendored
copy), and the release publishes what build_zipapp.py writes: every pyz, its SBOM and SHA256SUMS,
verified before upload."""

from __future__ import annotations

import re
from typing import Any

from build_zipapp import ALL_TARGETS
from tests.k8s.tools import K8S, load_yaml, run, tool

WORKFLOW = K8S / "ci" / "github-workflow.yml"


def workflow() -> dict[str, Any]:
    (doc,) = load_yaml(WORKFLOW.read_text(encoding="utf-8"))
    result: dict[str, Any] = doc
    return result


def test_workflow_matches_the_github_workflow_schema() -> None:
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)])


def test_release_builds_every_slim_file_verifies_and_publishes_them_with_sboms_and_checksums() -> None:
    steps = workflow()["jobs"]["release"]["steps"]
    commands = [step.get("run", "") for step in steps]
    build = next(i for i, command in enumerate(commands) if "make pyz" in command)
    assert 'PYZ_FLAGS="--slim all"' in commands[build] and len(ALL_TARGETS) == 15
    verify = next(i for i, command in enumerate(commands) if "sha256sum --check --strict SHA256SUMS" in command)
    publish = next(i for i, command in enumerate(commands) if "gh release create" in command)
    assert build < verify < publish
    assets = set(re.findall(r"dist/\S+", commands[publish]))
    assert assets == {"dist/*.pyz", "dist/*.pyz.cdx.json", "dist/SHA256SUMS"}
    # Nothing may overwrite the build's SHA256SUMS (it covers every pyz and SBOM).
    assert not any("> SHA256SUMS" in command or ">SHA256SUMS" in command for command in commands)


def test_ci_runs_the_same_make_targets_as_a_developer() -> None:
    steps = workflow()["jobs"]["test"]["steps"]
    assert any(step.get("run") == "make test" and step["env"]["LABMCP_REQUIRE_TOOLS"] == "1" for step in steps)
