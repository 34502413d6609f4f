"""``labmcp claude-config``: the printed entry, and a merge that never destroys what it did not write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from labmcp import claude_config
from labmcp.claude_config import Launch

LAUNCH = Launch("/usr/bin/python3", ("/opt/labmcp/labmcp.pyz",))
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def write(argv: list[str], config: Path, environ: dict[str, str] | None = None) -> int:
    return claude_config.run(["--write", "--config", str(config), *argv], environ or {}, LAUNCH, lambda: NOW)


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def test_printed_entry_runs_this_pyz_with_placeholders_only(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"LABARCHIVES_SECRET": "real-secret", "LABARCHIVES_AKID": "real-akid"}
    assert claude_config.run([], environ, LAUNCH, lambda: NOW) == 0
    entry = json.loads(capsys.readouterr().out)["mcpServers"]["labarchives"]
    assert entry["command"] == "/usr/bin/python3"
    assert entry["args"] == ["/opt/labmcp/labmcp.pyz"]
    assert entry["env"]["LABARCHIVES_SECRET"].startswith("<")
    assert "real-secret" not in json.dumps(entry)


def test_from_env_copies_only_the_values_that_are_set(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"LABARCHIVES_AKID": "akid-1", "LABARCHIVES_SECRET": "s3cret", "HOME": "/root"}
    assert claude_config.run(["--from-env"], environ, LAUNCH, lambda: NOW) == 0
    env = json.loads(capsys.readouterr().out)["mcpServers"]["labarchives"]["env"]
    assert env["LABARCHIVES_AKID"] == "akid-1"
    assert env["LABARCHIVES_SECRET"] == "s3cret"
    assert env["LABARCHIVES_UID"].startswith("<")
    assert "HOME" not in env


def test_write_creates_a_missing_file_readable_only_by_its_owner(tmp_path: Path) -> None:
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    assert write([], config) == 0
    assert load(config)["mcpServers"]["labarchives"]["args"] == ["/opt/labmcp/labmcp.pyz"]
    assert config.stat().st_mode & 0o077 == 0
    assert sorted(p.name for p in config.parent.iterdir()) == ["claude_desktop_config.json"]


def test_write_keeps_other_servers_and_settings_and_backs_up_first(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    original = {"mcpServers": {"git": {"command": "uvx", "args": ["mcp-server-git"]}}, "globalShortcut": "Ctrl+Space"}
    config.write_text(json.dumps(original))
    assert write([], config) == 0
    merged = load(config)
    assert merged["mcpServers"]["git"] == original["mcpServers"]["git"]
    assert merged["globalShortcut"] == "Ctrl+Space"
    assert "labarchives" in merged["mcpServers"]
    backup = tmp_path / "claude_desktop_config.json.20260102-030405.bak"
    assert load(backup) == original


def test_rewriting_keeps_the_credentials_the_user_filled_in(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    assert write([], config) == 0
    data = load(config)
    data["mcpServers"]["labarchives"]["env"].update(LABARCHIVES_SECRET="typed-by-user", LABARCHIVES_NOTEBOOK_ID="42")
    config.write_text(json.dumps(data))
    assert write([], config) == 0
    env = load(config)["mcpServers"]["labarchives"]["env"]
    assert env["LABARCHIVES_SECRET"] == "typed-by-user"
    assert env["LABARCHIVES_NOTEBOOK_ID"] == "42"


def test_invalid_json_is_refused_and_left_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "claude_desktop_config.json"
    config.write_text('{"mcpServers": {,}}')
    assert write([], config) == 2
    assert "is not valid JSON (line 1, column 17" in capsys.readouterr().err
    assert config.read_text() == '{"mcpServers": {,}}'
    assert [p.name for p in tmp_path.iterdir()] == ["claude_desktop_config.json"]


def test_an_entry_of_that_name_running_something_else_is_not_replaced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "claude_desktop_config.json"
    theirs = {"mcpServers": {"labarchives": {"command": "node", "args": ["other-labarchives-server.js"]}}}
    config.write_text(json.dumps(theirs))
    assert write([], config) == 2
    assert "does not run labmcp; pick another --name" in capsys.readouterr().err
    assert load(config) == theirs
    assert write(["--name", "labarchives-labmcp"], config) == 0
    assert load(config)["mcpServers"]["labarchives"] == theirs["mcpServers"]["labarchives"]


@pytest.mark.parametrize(
    ("sys_platform", "environ", "expected"),
    [
        ("darwin", {}, "/Users/u/Library/Application Support/Claude/claude_desktop_config.json"),
        ("win32", {"APPDATA": "/AppData/Roaming"}, "/AppData/Roaming/Claude/claude_desktop_config.json"),
        ("linux", {}, "/Users/u/.config/Claude/claude_desktop_config.json"),
        ("linux", {"XDG_CONFIG_HOME": "/xdg"}, "/xdg/Claude/claude_desktop_config.json"),
    ],
)
def test_default_config_path_per_os(sys_platform: str, environ: dict[str, str], expected: str) -> None:
    assert claude_config.default_config_path(sys_platform, environ, Path("/Users/u")) == Path(expected)


def test_without_a_pyz_the_entry_runs_the_installed_package(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "labmcp", "claude-config"], capture_output=True, text=True, check=True, timeout=60
    )
    entry = json.loads(done.stdout)["mcpServers"]["labarchives"]
    assert entry["command"] == str(Path(sys.executable).absolute())
    assert entry["args"] == ["-m", "labmcp"]


@pytest.mark.slow
def test_from_the_pyz_the_entry_names_its_absolute_path(pyz: Path, tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "PATH": os.environ["PATH"], "LABMCP_CACHE_DIR": str(tmp_path / "cache")}
    relative = os.path.relpath(pyz, tmp_path)
    done = subprocess.run(
        [sys.executable, "-I", relative, "claude-config", "--demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    entry = json.loads(done.stdout)["mcpServers"]["labarchives"]
    assert entry["args"] == [str(pyz), "--demo"]
    assert entry["env"] == {}
