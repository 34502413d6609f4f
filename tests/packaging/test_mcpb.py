"""The MCP Bundle, judged by the official ``mcpb`` command line and run the way a desktop client runs it.

The bundle wraps the session's universal pyz (built once by conftest). A desktop client unpacks the
bundle, fills ``${__dirname}`` and ``${user_config.*}`` in ``server.mcp_config`` and starts the
command; the test does exactly that and talks to the result with the official SDK client.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import trio
from mcp import Client, StdioServerParameters

from labmcp import bundle
from labmcp.server.catalog import TOOLS
from tests.e2e.helpers import npm_tool
from tests.packaging.conftest import EPOCH

pytestmark = pytest.mark.slow


def mcpb_cli() -> str:
    return npm_tool("LABMCP_MCPB", "the official mcpb command line")


@pytest.fixture(scope="module")
def mcpb_file(source: Path, dist: Path) -> Path:
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    command = [sys.executable, str(source / "build_zipapp.py"), "--mcpb", "--out", str(dist), "--mcpb-cli", mcpb_cli()]
    subprocess.run(command, check=True, timeout=900, env=env, cwd=source)
    return dist / "labmcp.mcpb"


def test_the_official_tool_reads_the_bundle(mcpb_file: Path) -> None:
    info = subprocess.run([mcpb_cli(), "info", str(mcpb_file)], capture_output=True, text=True, check=True)
    assert "labmcp" in info.stdout


def test_server_json_carries_the_bundles_sha256(mcpb_file: Path, dist: Path) -> None:
    entry = json.loads((dist / "server.json").read_text(encoding="utf-8"))
    (package,) = [p for p in entry["packages"] if p["registryType"] == "mcpb"]
    assert package["fileSha256"] == hashlib.sha256(mcpb_file.read_bytes()).hexdigest()
    assert f"{package['fileSha256']}  labmcp.mcpb" in (dist / "SHA256SUMS").read_text(encoding="utf-8")


def fill(value: str, dirname: Path, user: dict[str, str]) -> str:
    """What a desktop client does to each command, argument and env value of ``mcp_config``."""
    value = value.replace("${__dirname}", str(dirname))
    return re.sub(r"\$\{user_config\.([A-Za-z0-9_]+)\}", lambda m: user[m.group(1)], value)


async def test_a_desktop_client_runs_the_command_the_manifest_names(mcpb_file: Path, tmp_path: Path, fake: Any) -> None:
    unpacked = tmp_path / "unpacked"
    subprocess.run([mcpb_cli(), "unpack", str(mcpb_file), str(unpacked)], check=True, capture_output=True)
    manifest = json.loads((unpacked / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["manifest_version"] == bundle.MANIFEST_VERSION
    assert [t["name"] for t in manifest["tools"]] == [t.name for t in TOOLS]
    creds = fake.credentials
    given = {
        "access_key_id": creds.akid,
        "access_password": creds.password,
        "email": creds.email,
        "app_token": creds.token.reveal(),
        "api_base": fake.base_url,
    }
    # Fields the user left empty get their manifest default, as the client fills them.
    user = {key: given.get(key, field.get("default", "")) for key, field in manifest["user_config"].items()}
    assert {k for k, f in manifest["user_config"].items() if f.get("sensitive")} >= {"access_password", "app_token"}
    config = manifest["server"]["mcp_config"]
    command = shutil.which(config["command"]) or sys.executable  # python3 on PATH, a supported CPython here
    home = tmp_path / "home"
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home)}
    env.update({name: fill(value, unpacked, user) for name, value in config["env"].items()})
    args = [fill(arg, unpacked, user) for arg in config["args"]]
    params = StdioServerParameters(command=command, args=args, env=env)
    with trio.fail_after(180):
        async with Client(params, mode="legacy") as client:  # type: ignore[arg-type]
            listed = await client.list_tools()
            assert [t.name for t in listed.tools] == [t["name"] for t in manifest["tools"]]
            result = await client.call_tool("list_notebooks", {})
            assert not result.is_error, result.content
            assert result.structured_content and result.structured_content["notebooks"]


def registry_schema() -> dict[str, Any]:
    """The registry's published server.json schema, where a copy is on this machine (no package ships it)."""
    for candidate in (os.environ.get("LABMCP_REGISTRY_SCHEMA", ""), "../shared/mcp-registry/server.schema.json"):
        if candidate and Path(candidate).is_file():
            return json.loads(Path(candidate).read_text(encoding="utf-8"))
    pytest.skip("the MCP registry's server.schema.json is not on this machine (set LABMCP_REGISTRY_SCHEMA)")


def test_server_json_validates_against_the_registry_schema(mcpb_file: Path, dist: Path) -> None:
    schema = registry_schema()
    for path in (dist / "server.json", Path(__file__).resolve().parents[2] / "server.json"):
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), schema)
