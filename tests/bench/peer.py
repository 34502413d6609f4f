"""A raw JSON-RPC client over a child's stdin/stdout: no SDK on the measuring side, so it adds almost nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

PROTOCOL_VERSION = "2025-11-25"
ROOT = Path(__file__).resolve().parents[2]


class RPCError(Exception):
    """The server answered a request with a JSON-RPC error, or a tool answered with isError."""


class StdioPeer:
    """Requests and notifications over a subprocess's pipes; answers matched by id."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process = process
        self._stdin = process.stdin
        self._stdout = process.stdout
        self._buffer = b""
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}

    @property
    def pid(self) -> int:
        return self.process.pid

    async def send(self, message: Mapping[str, Any]) -> None:
        await self._stdin.send_all(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    async def _read_message(self) -> dict[str, Any]:
        while (newline := self._buffer.find(b"\n")) < 0:
            chunk = await self._stdout.receive_some(1 << 20)
            if not chunk:
                raise RPCError(f"the server closed stdout (exit code {self.process.poll()})")
            self._buffer += chunk
        line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
        message: dict[str, Any] = json.loads(line)
        return message

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def send_request(self, method: str, params: Mapping[str, Any] | None = None) -> int:
        request_id = self._new_id()
        await self.send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": dict(params or {})})
        return request_id

    async def answer(self, request_id: int) -> dict[str, Any]:
        """The result of a request, reading (and keeping) other answers until it arrives."""
        while request_id not in self._answers:
            message = await self._read_message()
            if "id" in message and ("result" in message or "error" in message):
                self._answers[message["id"]] = message
        message = self._answers.pop(request_id)
        if "error" in message:
            raise RPCError(str(message["error"]))
        result: dict[str, Any] = message["result"]
        return result

    async def request(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return await self.answer(await self.send_request(method, params))

    async def initialize(self) -> dict[str, Any]:
        result = await self.request(
            "initialize",
            {"protocolVersion": PROTOCOL_VERSION, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
        )
        await self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return result

    async def call_tool(self, name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        result = await self.request("tools/call", {"name": name, "arguments": dict(arguments)})
        if result.get("isError"):
            raise RPCError(f"{name} failed: {result.get('content')}")
        return result


@asynccontextmanager
async def spawn(
    command: Sequence[str], env: Mapping[str, str], *, stderr: int | None = subprocess.DEVNULL
) -> AsyncIterator[StdioPeer]:
    """Start a stdio server; on exit close stdin (the polite shutdown) and kill it if it lingers."""
    process = await trio.lowlevel.open_process(
        list(command), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=dict(env), cwd=ROOT
    )
    try:
        yield StdioPeer(process)
    finally:
        with trio.CancelScope(shield=True):
            assert process.stdin is not None
            await process.stdin.aclose()
            with trio.move_on_after(5):
                await process.wait()
            if process.poll() is None:
                process.kill()
                await process.wait()
            if process.stdout is not None:
                await process.stdout.aclose()


async def time_to_initialize(command: Sequence[str], env: Mapping[str, str]) -> float:
    """Seconds from spawning the process to its answer to ``initialize`` (sent at once, waits in the pipe)."""
    started = time.perf_counter()
    async with spawn(command, env) as peer:
        await peer.initialize()
        return time.perf_counter() - started


async def time_to_first_data(command: Sequence[str], env: Mapping[str, str]) -> float:
    """Seconds from spawning the process to its answer to ``initialize`` and then ``list_notebooks``:
    what a user waits for before the first notebook data (start-up's LabArchives calls included)."""
    started = time.perf_counter()
    async with spawn(command, env) as peer:
        await peer.initialize()
        await peer.call_tool("list_notebooks", {})
        return time.perf_counter() - started


async def wait_started(peer: StdioPeer) -> None:
    """Answer once the server's start-up (clock sync, uid, scope) is done: resources/list needs it
    and costs no LabArchives call."""
    await peer.request("resources/list")


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process, in MiB, from /proc/<pid>/status."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any LABARCHIVES_/LABMCP_/MCP_/SHIV_ settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABARCHIVES_", "LABMCP_", "MCP_", "SHIV_"))}
    env.update(extra)
    return env
