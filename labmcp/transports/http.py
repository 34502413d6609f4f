"""MCP Streamable HTTP at ``/mcp``: the SDK's ASGI app served by hypercorn's trio worker.

Why hypercorn: uvicorn is asyncio-only, and the design wants one trio process; hypercorn has a
native trio worker and passed the official conformance suite in our measurements
(mcp-sdk-facts.md). Imported only in HTTP mode, so stdio start-up does not pay for it.

A small ASGI guard runs before the SDK: Host and Origin against allow-lists (DNS rebinding),
the bearer token in constant time, a cap on concurrent requests and on declared body sizes.
Hypercorn caps header size and times out idle and slow clients.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any

import trio
from hypercorn.config import Config
from hypercorn.trio import serve
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labmcp.config import HTTPSettings
from labmcp.labarchives.regions import is_loopback_host

log = logging.getLogger("labmcp.http")

MCP_PATH = "/mcp"
HEADER_CAP = 16 * 1024

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(settings: HTTPSettings) -> tuple[str, ...]:
    """Host names accepted in the Host header: the configured list, else loopback names (and the
    bind address when it is a specific one).

    Entries without a port match any port (the name is what DNS rebinding abuses); ``*`` accepts
    any host, for ingresses that rewrite Host (the bearer token still guards the endpoint).
    """
    if settings.allowed_hosts:
        return settings.allowed_hosts
    names = list(LOOPBACK_NAMES)
    if not is_loopback_host(settings.host) and settings.host not in ("0.0.0.0", "::"):  # noqa: S104
        names.append(settings.host)
    return tuple(names)


def allowed_origins(settings: HTTPSettings, port: int) -> tuple[str, ...]:
    """Origin values accepted when a browser sends one: the configured list, else loopback only."""
    if settings.allowed_origins:
        return settings.allowed_origins
    return tuple(f"{scheme}://{name}:{port}" for scheme in ("http", "https") for name in LOOPBACK_NAMES)


def _hostname(host: str) -> str:
    """``name`` of ``name:port``, ``[v6]`` of ``[v6]:port``."""
    if host.startswith("["):
        return host[: host.find("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0]


def _host_ok(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower()
    for entry in (a.lower() for a in allowed):
        if entry in ("*", host):
            return True
        if _hostname(entry) == entry and _hostname(host) == entry:
            return True
    return False


def _origin_ok(origin: str, allowed: Iterable[str]) -> bool:
    return any(a == "*" or origin.lower() == a.lower() for a in allowed)


async def _reply(send: Send, status: int, message: str, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware in front of the SDK app: routing, DNS-rebinding checks, token, limits."""

    def __init__(self, app: ASGIApp, settings: HTTPSettings, port: int) -> None:
        self._app = app
        self._token = settings.token.reveal().encode() if settings.token else None
        self._hosts = allowed_hosts(settings)
        self._origins = allowed_origins(settings, port)
        self._max_body = settings.max_body_bytes
        self._max_active = settings.max_concurrent_requests
        self._active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        problem = self._check(scope)
        if problem is not None:
            status, message, extra = problem
            log.info("refused %s %s: %s", scope.get("method"), scope.get("path"), message)
            await _reply(send, status, message, extra)
            return
        if scope.get("method") != "POST":
            # GET opens a session's SSE stream (lives as long as the session; capped by max_sessions)
            # and DELETE ends one: neither is a unit of work, so they do not hold a request slot.
            await self._app(scope, receive, send)
            return
        if self._active >= self._max_active:
            await _reply(send, 503, "too many concurrent requests; retry shortly", [(b"retry-after", b"1")])
            return
        # A plain counter, not a trio limiter: the SDK may send the last message from another task.
        self._active += 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._active -= 1

        async def send_and_release(message: Message) -> None:
            # The slot is free once the answer is complete, not when the SDK's handler returns; it is
            # released before the last write, since the client may send its next request (run by
            # another task) before this task is scheduled again.
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()
            await send(message)

        try:
            await self._app(scope, receive, send_and_release)
        finally:
            release()

    def _check(self, scope: Scope) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        path = scope.get("path", "")
        if path.rstrip("/") != MCP_PATH:
            return 404, f"not found; the MCP endpoint is {MCP_PATH}", []
        headers: dict[bytes, bytes] = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(bytes(key).lower(), bytes(value))
        host = headers.get(b"host", b"").decode("latin-1")
        if not _host_ok(host, self._hosts):
            return 421, "Host header not allowed (set LABMCP_ALLOWED_HOSTS)", []
        origin = headers.get(b"origin")
        if origin is not None and not _origin_ok(origin.decode("latin-1"), self._origins):
            return 403, "Origin not allowed (set LABMCP_ALLOWED_ORIGINS)", []
        if self._token is not None:
            given = headers.get(b"authorization", b"")
            scheme, _, credential = given.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(credential.strip(), self._token):
                return 401, "missing or wrong bearer token", [(b"www-authenticate", b'Bearer realm="labmcp"')]
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return 413, f"request body over {self._max_body} bytes", []
        return None


def build_app(server: Server[Any], settings: HTTPSettings, port: int) -> ASGIApp:
    """The SDK's Streamable HTTP app (stateful sessions, streaming responses) behind our guard."""
    sdk_app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        max_request_body_size=settings.max_body_bytes,
        session_idle_timeout=settings.idle_timeout,
        max_sessions=settings.max_sessions,
        # Host and Origin are checked by Guard, with the configured lists, before the SDK sees them.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=settings.host,
    )
    return Guard(sdk_app, settings, port)


def hypercorn_config(settings: HTTPSettings, port: int) -> Config:
    config = Config()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    config.bind = [f"{host}:{port}"]
    config.h11_max_incomplete_size = HEADER_CAP
    config.keep_alive_timeout = 30
    config.read_timeout = 30
    config.graceful_timeout = settings.shutdown_grace
    config.accesslog = None
    config.errorlog = logging.getLogger("labmcp.http.server")
    config.include_server_header = False
    return config


async def bind_port(settings: HTTPSettings) -> int:
    """Resolve port 0 to a free port up front, so Host allow-lists and logs name the real port."""
    if settings.port:
        return settings.port
    sock = trio.socket.socket(trio.socket.AF_INET6 if ":" in settings.host else trio.socket.AF_INET)
    with sock:
        await sock.bind((settings.host, 0))
        port: int = sock.getsockname()[1]
    return port


async def serve_http(
    server: Server[Any],
    settings: HTTPSettings,
    shutdown: trio.Event,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``shutdown`` is set, then drain in-flight requests for the grace period."""
    port = await bind_port(settings)
    config = hypercorn_config(settings, port)
    app = build_app(server, settings, port)

    async def trigger() -> None:
        await shutdown.wait()

    log.info("MCP Streamable HTTP on http://%s:%d%s", settings.host, port, MCP_PATH)

    async def started(task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
        await serve(app, config, shutdown_trigger=trigger, task_status=task_status, mode="asgi")  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        await nursery.start(started)
        task_status.started(port)
