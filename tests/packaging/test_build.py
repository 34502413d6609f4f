"""The built artifacts: reproducible bytes, checksums, SBOM, and the right wheels in every target."""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from build_zipapp import ALL_TARGETS, EXCLUDED
from tests.packaging.conftest import build_into

pytestmark = pytest.mark.slow


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(pyz: Path, target: str) -> dict[str, str]:
    with zipfile.ZipFile(pyz) as zf:
        return dict(json.loads(zf.read(f"m/{target}.json")))


def test_two_builds_of_the_same_tree_are_byte_identical(source: Path, dist: Path, tmp_path: Path) -> None:
    again = build_into(source, tmp_path / "again")
    for name in ("labmcp.pyz", "labmcp.pyz.cdx.json", "SHA256SUMS"):
        assert sha256(again / name) == sha256(dist / name), name


def test_sha256sums_verifies_with_the_standard_tool(dist: Path) -> None:
    listed = [line.split()[1] for line in (dist / "SHA256SUMS").read_text().splitlines()]
    assert "labmcp.pyz" in listed
    assert any(name.startswith("labmcp-cp3") and name.endswith(".pyz") for name in listed), "the slim file"
    assert len(listed) == 4, "two pyz files and their SBOMs"
    subprocess.run(["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=dist, check=True, capture_output=True)


def test_the_universal_file_carries_every_target_and_stores_each_file_once(pyz: Path) -> None:
    with zipfile.ZipFile(pyz) as zf:
        build = json.loads(zf.read("BUILD.json"))
        names = zf.namelist()
        infos = zf.infolist()
    assert build["targets"] == [t.name for t in ALL_TARGETS]
    assert len(build["targets"]) == 15
    objects = {n for n in names if n.startswith("o/")}
    referenced = {digest for t in build["targets"] for digest in manifest(pyz, t).values()}
    assert objects == {f"o/{d}" for d in referenced}
    total_entries = sum(len(manifest(pyz, t)) for t in build["targets"])
    assert len(objects) < total_entries / 5, "pure-Python files are shared between targets"
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {infos[0].date_time}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_every_target_has_its_own_native_extensions(pyz: Path) -> None:
    suffix = {
        "manylinux_x86_64": "x86_64-linux-gnu.so",
        "manylinux_aarch64": "aarch64-linux-gnu.so",
        "macosx_arm64": "darwin.so",
        "macosx_x86_64": "darwin.so",
        "win_amd64": "win_amd64.pyd",
    }
    for target in ALL_TARGETS:
        files = manifest(pyz, target.name)
        core = [p for p in files if p.startswith("pydantic_core/_pydantic_core.")]
        assert len(core) == 1, (target.name, core)
        assert core[0].endswith(suffix[target.platform]), (target.name, core)
        assert f"cpython-{target.python.replace('.', '')}" in core[0] or target.platform == "win_amd64"
        assert any(p.startswith("cryptography/hazmat/bindings/_rust") for p in files), target.name
        assert "labmcp/cli.py" in files
        assert "labmcp/pyzboot.py" in files


def test_platform_specific_pins_are_honoured(pyz: Path) -> None:
    """pywin32 only on Windows (mcp.server.stdio imports it there); cryptography 48 on Intel Macs (no 50 wheel)."""
    for target in ALL_TARGETS:
        files = manifest(pyz, target.name)
        has_pywin32 = any(p.startswith("pywin32-") and p.endswith(".dist-info/METADATA") for p in files)
        assert has_pywin32 == (target.platform == "win_amd64"), target.name
        crypto = [p.split("/")[0] for p in files if p.startswith("cryptography-") and p.endswith("/METADATA")]
        expected = "cryptography-48." if target.platform == "macosx_x86_64" else "cryptography-50."
        assert crypto and crypto[0].startswith(expected), (target.name, crypto)


def test_excluded_distributions_are_not_shipped(pyz: Path) -> None:
    for target in ALL_TARGETS:
        dists = {p.split("/")[0].split("-")[0].lower().replace("_", "-") for p in manifest(pyz, target.name)}
        assert not dists & set(EXCLUDED), target.name
        assert "jsonschema" in {p.split("/")[0] for p in manifest(pyz, target.name)}, "demo-session validates output"


def test_no_installer_bookkeeping_or_host_paths_leak_in(pyz: Path) -> None:
    for target in ALL_TARGETS:
        for path in manifest(pyz, target.name):
            name = path.rsplit("/", 1)[-1]
            assert name not in {"RECORD", "INSTALLER", "direct_url.json"}, path
            assert not path.startswith("bin/"), path
            assert "__pycache__" not in path, path


def test_the_sbom_lists_what_is_inside_with_hashes(dist: Path, pyz: Path) -> None:
    bom = json.loads((dist / "labmcp.pyz.cdx.json").read_text())
    assert bom["bomFormat"] == "CycloneDX"
    assert bom["specVersion"] == "1.6"
    assert bom["metadata"]["component"]["hashes"] == [{"alg": "SHA-256", "content": sha256(pyz)}]
    components = {(c["name"], c["version"]): c for c in bom["components"]}
    names = {name for name, _ in components}
    assert {"mcp", "pydantic-core", "trio", "httpx", "hypercorn", "cryptography", "pywin32"} <= names
    assert not names & set(EXCLUDED)
    assert ("cryptography", "48.0.1") in components
    assert all(c["purl"] == f"pkg:pypi/{c['name']}@{c['version']}" for c in components.values())
    assert all(c["hashes"] for c in components.values()), "every component carries the lock's wheel hashes"
