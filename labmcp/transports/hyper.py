"""Hypercorn's trio worker, narrowed to what the sidecar needs: HTTP/1.1 only, one fault one connection.

Why our own loop around hypercorn's parts rather than ``hypercorn.trio.serve``:

- **Per-connection isolation.** In hypercorn a protocol exception (h11 or h2 state errors, say a
  ``KeyError`` for a DATA frame on a stream it already forgot) escapes the connection task and
  reaches the server nursery, which ends the whole process. Here each connection's task catches it,
  logs one line, and closes only that connection.
- **No HTTP/2 in cleartext.** The sidecar sits behind a Service or an Ingress that speak HTTP/1.1
  to it, and h2c only adds attack surface. An ``Upgrade: h2c`` header is ignored (the request is
  answered over HTTP/1.1, which RFC 9110 §7.8 allows); a prior-knowledge preface (``PRI *
  HTTP/2.0``) gets the connection closed. TLS is never configured here, so ALPN cannot pick h2.
- **Bounded connections.** At most ``LABMCP_MAX_CONNECTIONS`` are open; at the cap the one idle
  longest (between requests, or with an incomplete head) is closed to make room, so idle and
  half-open connections cannot keep a client out, nor exhaust file descriptors.
- **Deadlines measure the request, not the peer's silence.** hypercorn's ``read_timeout`` also runs
  while an answer is being produced and the client is (rightly) silent, cutting long answers. It is
  off; a request head must arrive within ``keep_alive_timeout`` (hypercorn treats a connection as
  idle until a head is complete), and the body within the guard's body deadline.
- **One write per JSON answer.** hypercorn writes a response's head and its body separately; a head
  that announces a body length waits for that body and both leave in one write (one syscall and
  one packet fewer per answer; streams still send their head at once).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import h11
import trio
from hypercorn.config import Config
from hypercorn.events import Event, RawData, Updated
from hypercorn.protocol.h11 import H11Protocol
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.task_group import TaskGroup
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import parse_socket_addr, wrap_app

from labmcp.transports.slots import Slots, unread_bytes

log = logging.getLogger("labmcp.http.server")


class _HTTP11Only(H11Protocol):
    """hypercorn's HTTP/1.1 protocol without its two routes into HTTP/2 (Upgrade and the preface).

    It also reports bytes arriving (``began``), so that a connection in the middle of sending a
    request head is told from one that has sent nothing (``slots``: the former is evicted first).
    """

    def __init__(self, began: Callable[[], None], *args: Any) -> None:
        super().__init__(*args)
        self._began = began

    async def handle(self, event: Event) -> None:
        if isinstance(event, RawData) and event.data:
            self._began()
        await super().handle(event)

    async def _check_protocol(self, event: h11.Request) -> None:
        if event.method == b"PRI" and event.target == b"*" and event.http_version == b"2.0":
            raise _PriorKnowledgeH2
        # Upgrade: h2c is ignored: the request is served over HTTP/1.1.
        # h11 bounds only a head that arrives in pieces; one that arrives whole (up to a 64 KiB read)
        # is parsed at any size, so the head's own size is checked here (431, RFC 6585 §5).
        size = len(event.target) + sum(len(name) + len(value) + 4 for name, value in event.headers)
        if size > self.config.h11_max_incomplete_size:
            await self._refuse(431)
        # Both framings at once is how requests are smuggled past a proxy that reads the other one
        # (RFC 9112 §6.1: the connection must close after the answer); refuse and close.
        names = {name for name, _ in event.headers}
        if b"transfer-encoding" in names and b"content-length" in names:
            await self._refuse(400)

    async def _refuse(self, status: int) -> None:
        await self._send_error_response(status)
        raise _RefusedHead(status)

    _held = b""
    """The encoded head of a response whose body is on its way (see the module docstring)."""

    async def _send_h11_event(self, event: Any) -> None:
        # Replaces hypercorn 0.18's H11Protocol._send_h11_event. Streams (SSE: no Content-Length) keep
        # their head going out at once: a client waits for it before the first event.
        try:
            data = self.connection.send(event) or b""
        except h11.LocalProtocolError:
            if self.connection.their_state != h11.ERROR:
                raise
            return
        if isinstance(event, h11.Response) and any(n == b"content-length" and v != b"0" for n, v in event.headers):
            self._held = data
            return
        held, self._held = self._held, b""
        if held or data:
            await self.send(RawData(data=held + data))


class _RefusedHead(Exception):
    """A request head refused with an error answer; the connection closes after it."""


class _PriorKnowledgeH2(Exception):
    """A client opened with the HTTP/2 preface; this server speaks HTTP/1.1 only."""


class Connections(Slots["_Connection"]):
    """The open MCP connections, at most ``limit``; at the cap the one idle longest makes room.

    "Idle" is hypercorn's own notion: no request in progress, which includes a request head that has
    not arrived whole. A connection whose request is being read or answered is never evicted, nor
    one whose next request is waiting unread in its socket (see ``slots``); while every one is, a
    newcomer is turned away at once (a request body is bounded by the guard's body deadline, so this
    lasts no longer than that).
    """


_TURNED_AWAY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n"


class _Connection(TCPServer):
    """One client connection: hypercorn's TCP server with our protocol and a fault boundary."""

    def __init__(self, connections: Connections, *args: Any) -> None:
        super().__init__(*args)
        self._connections = connections
        self._scope = trio.CancelScope()

    def evict(self) -> None:
        self._scope.cancel()

    def unread_bytes(self) -> int:
        return unread_bytes(self.stream.socket)

    async def protocol_send(self, event: Event) -> None:
        if isinstance(event, Updated):
            self._connections.idle(self, event.idle)
        await super().protocol_send(event)

    async def run(self) -> None:
        stream: Any = self.stream  # a plain SocketStream: TLS is never configured here
        if not self._connections.admit(self):
            log.warning("turned a connection away: all %d are busy with requests", self._connections.limit)
            with trio.move_on_after(1), contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                await stream.send_all(_TURNED_AWAY)
            await trio.aclose_forcefully(stream)
            return
        try:
            with self._scope:
                await self._serve(stream)
        except Exception as exc:  # a fault in one connection must not end the server
            if _only(exc, OSError):
                pass
            elif _only(exc, _PriorKnowledgeH2):
                log.info("closed a connection that opened with the HTTP/2 preface (HTTP/1.1 only)")
            elif _only(exc, _RefusedHead):
                log.info("refused a request head (too large, or both Content-Length and Transfer-Encoding)")
            else:
                log.warning("closed a connection after a protocol fault (%s)", _names(exc))
                log.debug("protocol fault", exc_info=exc)
        finally:
            self._connections.release(self)
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)

    async def _serve(self, stream: Any) -> None:
        client = parse_socket_addr(stream.socket.family, stream.socket.getpeername())
        server = parse_socket_addr(stream.socket.family, stream.socket.getsockname())
        async with TaskGroup() as task_group:
            self._task_group = task_group
            self.protocol = _HTTP11Only(  # type: ignore[assignment]  # used only through handle()
                partial(self._connections.began, self),
                self.app,
                self.config,
                self.context,
                task_group,
                ConnectionState(self.state),
                False,
                client,
                server,
                self.protocol_send,
            )
            await self.idle_task.restart(self._task_group, self._idle_timeout)
            await self._read_data()


def _only(exc: Exception, kind: type[Exception]) -> bool:
    """Whether ``exc`` is ``kind``, or a group (the connection's nursery) of nothing else."""
    if isinstance(exc, BaseExceptionGroup):
        return exc.split(kind)[1] is None
    return isinstance(exc, kind)


def _names(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        return ", ".join(_names(inner) for inner in exc.exceptions)
    return type(exc).__name__


async def serve(
    app: Callable[..., Awaitable[None]],
    config: Config,
    shutdown: trio.Event,
    connections: Connections,
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` (ASGI) on ``config.bind`` until ``shutdown`` is set, then let in-flight
    requests finish for ``config.graceful_timeout`` seconds; what is left then is cancelled.
    ``connections`` caps the open connections (see ``Connections``)."""
    state: dict[str, Any] = {}
    wrapped = wrap_app(app, config.wsgi_max_body_size, "asgi")
    lifespan = Lifespan(wrapped, config, state)
    context = WorkerContext(None)
    async with trio.open_nursery() as lifespan_nursery:
        await lifespan_nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as server_nursery:
            sockets = config.create_sockets()
            listeners = []
            for sock in sockets.insecure_sockets:
                sock.listen(config.backlog)
                listeners.append(trio.SocketListener(trio.socket.from_stdlib_socket(sock)))
            handler = partial(_Connection, connections, wrapped, config, context, ConnectionState(state.copy()))
            async with trio.open_nursery() as accept_nursery:
                accept_nursery.start_soon(
                    partial(trio.serve_listeners, handler, listeners, handler_nursery=server_nursery)
                )
                task_status.started()
                await shutdown.wait()
                accept_nursery.cancel_scope.cancel()
            await context.terminated.set()
            server_nursery.cancel_scope.deadline = trio.current_time() + config.graceful_timeout
        await lifespan.wait_for_shutdown()
        lifespan_nursery.cancel_scope.cancel()
