"""`python -m labmcp fake-server` as a real process: one JSON line, a working server, clean exit on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
import trio

pytestmark = pytest.mark.slow


async def test_fake_server_prints_one_json_line_and_serves_until_sigterm() -> None:
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "labmcp", "fake-server", "--port", "0", "--clock-offset-ms", "-600000"],
            stdout=subprocess.PIPE,
        )
        try:
            await _check_running(process)
        finally:
            if process.returncode is None:
                process.kill()


async def _check_running(process: trio.Process) -> None:
    """Read the JSON line, call the server it names, stop it with SIGTERM and expect exit code 0."""
    assert process.stdout is not None
    buffer = b""
    while b"\n" not in buffer:
        chunk = await process.stdout.receive_some(4096)
        assert chunk, "the fake-server exited before printing its line"
        buffer += chunk
    line = json.loads(buffer.split(b"\n", 1)[0])
    assert set(line) == {"base_url", "akid", "password", "email", "token", "uid"}
    assert line["base_url"].endswith("/api")
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{line['base_url']}/utilities/epoch_time", params={"akid": line["akid"]})
    server_ms = int(ET.fromstring(response.content).findtext("epoch-time") or "0")
    assert server_ms < time.time() * 1000 - 500_000, "--clock-offset-ms must move the fake's clock"
    process.send_signal(signal.SIGTERM)
    assert await process.wait() == 0
