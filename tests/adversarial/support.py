"""Shared pieces of the adversarial suite: canary credentials, a fake that knows them, server
environments that log at DEBUG to a file, and the secret scan every part applies to what it saw."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import trio

from labmcp.fake import Credentials, FakeLabArchives, demo
from labmcp.fake.exchange import FakeConfig
from labmcp.secret import Secret
from tests.e2e.helpers import server_env

# Each canary carries '+', '/' and '=' so its percent-encoded forms differ from the raw value.
CANARY_PASSWORD = "Canary+Access/Pass=9d1e-7b"
CANARY_TOKEN = "Canary+App/Token=4b7c-2f"
CANARY_BEARER = "canary-bearer-token-83e1-5a0c"
SECRETS = (CANARY_PASSWORD, CANARY_TOKEN, CANARY_BEARER)
_UNMASKED_SIG = re.compile(r"(?i)\bsig=(?!\*\*\*)")


def secret_forms() -> list[str]:
    """Every form in which a canary secret could leak: raw, percent-encoded, form-encoded."""
    forms: set[str] = set()
    for value in SECRETS:
        forms.update({value, quote(value, safe=""), quote_plus(value), quote(value)})
    return sorted(forms)


def leaked_secrets(text: str) -> list[str]:
    """The canary secrets (in any encoding) and unmasked ``sig=`` parameters found in ``text``."""
    found = [form for form in secret_forms() if form in text]
    if _UNMASKED_SIG.search(text):
        found.append("sig=")
    return found


def canary_fake(config: FakeConfig | None = None) -> FakeLabArchives:
    """The demo lab, but its access password and app token are the canary secrets."""
    config = config or FakeConfig()
    now_ms = time.time_ns() // 1_000_000 + config.clock_offset_ms
    store = demo.build(now_ms)
    store.add_akid(demo.AKID, CANARY_PASSWORD)
    store.users[demo.UID].tokens = {}
    store.add_token(demo.UID, CANARY_TOKEN, now_ms)
    creds = Credentials(demo.AKID, Secret(CANARY_PASSWORD), demo.EMAIL, Secret(CANARY_TOKEN), demo.UID)
    return FakeLabArchives(store, config, creds)


def adversarial_env(fake: Any, log_file: Path, **extra: str) -> dict[str, str]:
    """A server environment for the fake with DEBUG logs to ``log_file`` and fast failure settings."""
    base = {
        "LABARCHIVES_LOG_FILE": str(log_file),
        "LABARCHIVES_LOG_LEVEL": "DEBUG",
        "LABARCHIVES_CONNECT_TIMEOUT": "2",
        "LABARCHIVES_READ_TIMEOUT": "2",
        "LABARCHIVES_RETRY_BACKOFF": "0.01",
    }
    base.update(extra)
    return server_env(fake, **base)


def read_logs(log_file: Path) -> str:
    """The log file and its rotated siblings, for the secret scan."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(log_file.parent.glob(log_file.name + "*"))
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class HTTPServer:
    """A server process in sidecar mode: Streamable HTTP on ``port``, health and metrics on ``health``."""

    process: trio.Process
    port: int
    health: int
    stderr: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.get(f"http://127.0.0.1:{self.health}{path}")


@asynccontextmanager
async def http_server(env: dict[str, str], stderr: Path, token: str = CANARY_BEARER) -> AsyncIterator[HTTPServer]:
    """Start ``labmcp --transport http`` with ``token``, wait until ready, SIGTERM it on exit."""
    port, health = free_port(), free_port()
    env = {**env, "LABMCP_HTTP_TOKEN": token}
    args = [sys.executable, "-m", "labmcp", "--transport", "http", "--port", str(port), "--health-port", str(health)]
    with stderr.open("wb") as err:
        process = await trio.lowlevel.open_process(args, env=env, stdin=subprocess.DEVNULL, stderr=err)
    server = HTTPServer(process, port, health, stderr)
    try:
        with trio.fail_after(30):
            while True:
                try:
                    if (await server.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.returncode is None, stderr.read_text()
                await trio.sleep(0.1)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        with trio.fail_after(20):
            await process.wait()


async def mcp_session(http: httpx.AsyncClient, url: str, token: str = CANARY_BEARER) -> dict[str, str]:
    """Initialize one Streamable HTTP session by hand; returns the headers every later POST needs."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "adv", "version": "1"}},
    }
    answer = await http.post(url, headers=headers, content=json.dumps(init))
    assert answer.status_code == 200, answer.text
    version = rpc_messages(answer)[0]["result"]["protocolVersion"]
    headers = {**headers, "Mcp-Session-Id": answer.headers["mcp-session-id"], "MCP-Protocol-Version": version}
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    answer = await http.post(url, headers=headers, content=json.dumps(note))
    assert answer.status_code == 202, f"{answer.status_code} {answer.headers} {answer.text[:300]}"
    return headers


async def http_patience(http: httpx.AsyncClient, url: str, headers: dict[str, str], calls: int = 5) -> float:
    """How long one request may take on this machine now: 100 times the slowest of a few normal calls."""
    slowest = 0.0
    for n in range(calls):
        params = {"name": "list_notebooks", "arguments": {}}
        body = {"jsonrpc": "2.0", "id": f"baseline-{n}", "method": "tools/call", "params": params}
        start = trio.current_time()
        answer = await http.post(url, headers=headers, content=json.dumps(body))
        assert answer.status_code == 200, answer.text
        slowest = max(slowest, trio.current_time() - start)
    return max(10.0, 100 * slowest)


def rpc_messages(answer: httpx.Response) -> list[dict[str, Any]]:
    """The JSON-RPC messages in a response body, whether plain JSON or a server-sent event stream."""
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        # Split on "\n" only: str.splitlines would also cut at U+2028 inside a JSON string.
        out = []
        for event in answer.text.replace("\r\n", "\n").split("\n\n"):
            data = "\n".join(line[5:].lstrip(" ") for line in event.split("\n") if line.startswith("data:"))
            if data.strip():
                out.append(json.loads(data))
        return out
    if not answer.content:
        return []
    body = answer.json()
    return body if isinstance(body, list) else [body]


class Stalled(AssertionError):
    """The server stopped answering (or died) while answers were still due."""


class StdioPeer:
    """Raw line I/O with a server process; answers are kept by id as they arrive.

    Waiting is bounded by progress, never by a total budget: ``wait_for`` fails only when *no* line at
    all arrives for ``patience`` seconds (set it from a baseline measured in the same run with
    ``measure``), or when the process closes stdout. A slow or busy machine makes a run longer, not red.
    """

    def __init__(self, process: trio.Process, patience: float = 60.0) -> None:
        self.process = process
        self.patience = patience
        self.answers: Counter[Any] = Counter()
        self.by_id: dict[Any, dict[str, Any]] = {}
        self.null_errors = 0
        self.null_codes: Counter[int] = Counter()
        self.lines = 0
        self.closed = False
        self.changed = trio.Event()
        self.secrets: list[str] = []

    async def read(self) -> None:
        assert self.process.stdout is not None
        buffer = b""
        try:
            while chunk := await self.process.stdout.receive_some(1 << 16):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    self._take(line)
                self.changed.set()
                self.changed = trio.Event()
        finally:
            self.closed = True
            self.changed.set()

    def _take(self, line: bytes) -> None:
        self.lines += 1
        text = line.decode()
        self.secrets += leaked_secrets(text)
        message = json.loads(text)
        if "id" not in message:
            return  # a notification from the server
        key = message["id"]
        if key is None:
            assert "error" in message, text
            self.null_errors += 1
            self.null_codes[message["error"]["code"]] += 1
        else:
            self.answers[key] += 1
            self.by_id[key] = message

    async def send(self, data: bytes) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(data)

    async def until(self, done: Callable[[], bool], due: Callable[[], object] = lambda: "") -> None:
        """Wait until ``done()``; fail if nothing arrives for ``patience`` seconds or stdout closes."""
        while not done():
            if self.closed:
                raise Stalled(f"the server closed stdout (exit code {self.process.returncode})")
            changed = self.changed
            with trio.move_on_after(self.patience) as waited:
                await changed.wait()
            if waited.cancelled_caught:
                raise Stalled(f"no answer for {self.patience:.1f} s while answers were due {due()}")

    async def wait_for(self, ids: list[Any]) -> None:
        def missing() -> list[Any]:
            return [i for i in ids if self.answers[i] == 0]

        await self.until(lambda: not missing(), lambda: f"for ids {missing()[:10]}")

    async def call(self, request_id: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
        await self.send(
            json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode() + b"\n"
        )
        await self.wait_for([request_id])
        return self.by_id[request_id]

    async def measure(self, calls: int = 5) -> float:
        """Set ``patience`` from this machine's pace now: 100 times the slowest of a few normal calls."""
        slowest = 0.0
        for n in range(calls):
            start = trio.current_time()
            self.patience = 600.0  # only while measuring: the first calls may wait for start-up
            answer = await self.call(f"baseline-{n}", "tools/call", {"name": "list_notebooks", "arguments": {}})
            assert "result" in answer, answer
            slowest = max(slowest, trio.current_time() - start)
        self.patience = max(10.0, 100 * slowest)
        return slowest
