"""An independent client: the MCP Inspector CLI (npm) drives the real server over stdio and Streamable HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.e2e.helpers import npm_tool, server_command, server_env
from tests.e2e.test_http_sidecar import TOKEN, sidecar

pytestmark = pytest.mark.slow


def _inspector() -> str:
    return npm_tool("LABMCP_INSPECTOR", "the MCP Inspector CLI")


async def _inspect(fake: Any, tmp_path: Path, *args: str) -> Any:
    return json.loads((await _run_inspector(fake, tmp_path, *args)).stdout)


async def _run_inspector(fake: Any, tmp_path: Path, *args: str) -> Any:
    env = server_env(fake)
    server_args: list[str] = []
    for key in ("LABARCHIVES_API_BASE", "LABARCHIVES_AKID", "LABARCHIVES_USER", "LABARCHIVES_REQUEST_INTERVAL"):
        server_args += ["-e", f"{key}={env[key]}"]
    # The Inspector passes only -e variables to the server; secrets go in files, never on a command line.
    secret, token = tmp_path / "secret", tmp_path / "token"
    secret.write_text(env["LABARCHIVES_SECRET"])
    token.write_text(env["LABARCHIVES_TOKEN"])
    files = ["--secret-file", str(secret), "--token-file", str(token)]
    command = [_inspector(), "--cli", *server_args, *server_command(), *files, *args]
    with trio.fail_after(90):
        done = await trio.run_process(command, capture_stdout=True, capture_stderr=True, env=env, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    return done


async def test_inspector_lists_and_calls_tools_and_reads_a_resource(fake: Any, tmp_path: Path) -> None:
    listed = await _inspect(fake, tmp_path, "--method", "tools/list")
    assert {t["name"] for t in listed["tools"]} >= {"list_notebooks", "read_page", "search"}
    called = await _inspect(fake, tmp_path, "--method", "tools/call", "--tool-name", "list_notebooks")
    notebooks = called["structuredContent"]["notebooks"]
    assert notebooks and not called.get("isError")
    read = await _inspect(fake, tmp_path, "--method", "resources/read", "--uri", notebooks[0]["uri"])
    assert read["contents"][0]["mimeType"] == "text/markdown"


async def test_inspector_strict_finds_no_schema_portability_problem(fake: Any, tmp_path: Path) -> None:
    """The Inspector's --strict lint (type arrays, remote refs, untyped schemas) judges every tool schema."""
    done = await _run_inspector(fake, tmp_path, "--method", "tools/list", "--strict")
    report = done.stderr.decode(errors="replace")
    assert "Warning:" not in report and "Error:" not in report, report[-3000:]
    assert json.loads(done.stdout)["tools"]


async def test_inspector_over_streamable_http_takes_the_plain_json_answers(fake: Any) -> None:
    """The Inspector (TypeScript SDK, the 2025-11-25 handshake) over Streamable HTTP, where the server
    answers every request without a progressToken with one JSON object (labmcp.transports.answers)."""
    async with sidecar(server_env(fake)) as car:
        target = [_inspector(), "--cli", car.url, "--transport", "http", "--header", f"Authorization: Bearer {TOKEN}"]
        outputs = []
        for args in (["--method", "tools/list"], ["--method", "tools/call", "--tool-name", "list_notebooks"]):
            with trio.fail_after(90):
                done = await trio.run_process([*target, *args], capture_stdout=True, capture_stderr=True, check=False)
            assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
            outputs.append(json.loads(done.stdout))
    listed, called = outputs
    assert {t["name"] for t in listed["tools"]} >= {"list_notebooks", "read_page", "search"}
    assert called["structuredContent"]["notebooks"] and not called.get("isError")
