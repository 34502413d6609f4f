"""MCP Streamable HTTP at ``/mcp``: the SDK's ASGI app behind our guard, served by hypercorn's parts.

Why hypercorn: uvicorn is asyncio-only, and the design wants one trio process; hypercorn has a
native trio worker and passed the official conformance suite in our measurements
(mcp-sdk-facts.md). Imported only in HTTP mode, so stdio start-up does not pay for it. Its serving
loop is ours (``labmcp.transports.hyper``: HTTP/1.1 only, one fault closes one connection), and
``labmcp.transports.guard`` runs before the SDK (routing, Host/Origin, auth, sessions, admission,
body deadline, request slots).
"""

from __future__ import annotations

import logging
from typing import Any

import trio
from hypercorn.config import Config
from mcp.server.lowlevel import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp

from labmcp.config import HTTPSettings
from labmcp.transports import answers, hyper
from labmcp.transports.guard import MCP_PATH, Authenticate, AuthHook, Guard

log = logging.getLogger("labmcp.http")

HEADER_CAP = 16 * 1024
KEEP_ALIVE_SECONDS = 30
"""An idle keep-alive connection, or one whose request head has not arrived whole, is closed after this."""
ANSWER_MARGIN = 1.0
"""Seconds after the grace period in which calls cut by it still write their error answers."""


def build_app(
    server: Server[Any],
    settings: HTTPSettings,
    port: int,
    authenticate: Authenticate | None = None,
    auth: AuthHook | None = None,
) -> Guard:
    """The SDK's Streamable HTTP app (sessions unless stateless) behind our guard; each request is
    answered with JSON unless it asked for progress, then with SSE (``labmcp.transports.answers``)."""
    answers.install()
    sdk_app: ASGIApp = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        stateless_http=settings.stateless,
        max_request_body_size=settings.max_body_bytes,
        # The guard expires idle sessions and enforces the limits; the SDK's own limits are backstops
        # with headroom for the short-lived session objects it makes for refused opening requests.
        session_idle_timeout=settings.idle_timeout * 2,
        max_sessions=settings.max_sessions + settings.max_concurrent_requests,
        # Host and Origin are checked by the guard, with the configured lists, before the SDK sees them.
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        host=settings.host,
        **(auth.sdk_options if auth else {}),
    )
    return Guard(sdk_app, settings, port, authenticate=authenticate, auth=auth)


def hypercorn_config(settings: HTTPSettings, port: int) -> Config:
    config = Config()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    config.bind = [f"{host}:{port}"]
    config.h11_max_incomplete_size = HEADER_CAP
    config.keep_alive_timeout = KEEP_ALIVE_SECONDS
    # No per-read timeout: it would also run while an answer is being produced (the client is then
    # silent), cutting long answers. Heads are bounded by keep_alive_timeout, bodies by the guard.
    config.read_timeout = None
    config.graceful_timeout = settings.shutdown_grace + ANSWER_MARGIN
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
    auth: AuthHook | None = None,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until ``shutdown`` is set, then drain in-flight requests for the grace period."""
    port = await bind_port(settings)
    config = hypercorn_config(settings, port)
    app = build_app(server, settings, port, auth=auth)
    log.info("MCP Streamable HTTP on http://%s:%d%s", settings.host, port, MCP_PATH)
    async with trio.open_nursery() as nursery:
        await nursery.start(hyper.serve, app, config, shutdown, hyper.Connections(settings.max_connections))
        task_status.started(port)
