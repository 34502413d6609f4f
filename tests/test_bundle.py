"""The registry entry at the repository root is the one the code builds (labmcp.bundle), so they cannot drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

from labmcp import __version__, bundle
from labmcp.config import OPTIONS

ROOT = Path(__file__).resolve().parent.parent


def test_root_server_json_is_generated_from_the_code() -> None:
    """`make mcpb` writes dist/server.json; a release copies it here (README: MCP registry)."""
    committed = json.loads((ROOT / "server.json").read_text(encoding="utf-8"))
    (package,) = [p for p in committed["packages"] if p["registryType"] == "mcpb"]
    assert re.fullmatch(r"[0-9a-f]{64}", package["fileSha256"])
    assert committed == bundle.server_json(mcpb_sha256=package["fileSha256"]), "copy dist/server.json after make mcpb"
    assert committed["version"] == __version__


def test_every_bundle_setting_is_a_real_setting() -> None:
    envs = {o.env for o in OPTIONS}
    manifest = bundle.manifest()
    assert set(manifest["server"]["mcp_config"]["env"]) <= envs
    assert set(manifest["user_config"]) == {key for key, *_ in bundle.USER_CONFIG}
