"""Health and metrics listener: a tiny HTTP/1.1 server on trio + h11 for probes and Prometheus.

It serves four read-only routes and nothing else, never calls LabArchives, and must survive any
client: every request has a total deadline (slow clients are cut), headers and bodies are capped,
and connections are bounded. At the cap, the connection that has waited longest for a request (or
for the rest of one: a head without its body) is evicted, so idle, slow or half-open connections
cannot starve the probes; a connection being answered, which takes microseconds, or whose request
is waiting unread in its socket, is kept (``slots``). A
failure in one connection is logged and contained: an exception escaping a task would take down the
whole process (and with it the MCP server beside it).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http import HTTPStatus
from typing import Literal

import h11
import trio

from labmcp.transports.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from labmcp.transports.metrics import Metrics
from labmcp.transports.slots import Slots, unread_bytes

log = logging.getLogger("labmcp.health")

MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024
READ_SIZE = 8192
LINGER_SECONDS = 1.0
JSON_TYPE = "application/json"


class Readiness:
    """Named readiness conditions; ready when none fails and the process is not shutting down.

    Conditions say whether this process can serve. Notes are dependencies whose health is reported
    beside readiness (as ``warnings``) but never withdraws it: while LabArchives is down a ready pod
    still answers, with a clear tool error, which a pod removed from the load balancer cannot.
    """

    def __init__(self) -> None:
        self._conditions: dict[str, tuple[bool, str]] = {}
        self._notes: dict[str, tuple[bool, str]] = {}
        self._shutting_down = False

    def set(self, name: str, ok: bool, reason: str = "") -> None:
        """Record whether condition ``name`` holds; ``reason`` says why not (no secrets, no data)."""
        self._conditions[name] = (ok, reason)

    def note(self, name: str, ok: bool, reason: str = "") -> None:
        """Record a dependency's health for the ``warnings`` list; readiness does not depend on it."""
        self._notes[name] = (ok, reason)

    @property
    def warnings(self) -> list[str]:
        return [f"{name}: {why}" if why else name for name, (ok, why) in self._notes.items() if not ok]

    def shutting_down(self) -> None:
        """Report not ready from now on, so the load balancer drains us before the process exits."""
        self._shutting_down = True

    @property
    def ready(self) -> bool:
        return not self._shutting_down and all(ok for ok, _ in self._conditions.values())

    @property
    def reasons(self) -> list[str]:
        out = ["shutting down"] if self._shutting_down else []
        out += [f"{name}: {why}" if why else name for name, (ok, why) in self._conditions.items() if not ok]
        return out


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status, body and the headers beyond the standard ones."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, payload: dict[str, object], headers: tuple[tuple[str, str], ...] = ()) -> Response:
    return Response(status, json.dumps(payload, default=str).encode(), JSON_TYPE, headers)


ROUTES = (b"/health/live", b"/health/ready", b"/health", b"/metrics")
ALLOW = (("allow", "GET, HEAD"),)


def respond(
    method: bytes,
    target: bytes,
    *,
    metrics: Metrics,
    readiness: Readiness,
    info: Callable[[], dict[str, object]],
) -> Response:
    """Answer one request from its method and target; pure apart from the callbacks it reads."""
    path = target.split(b"?", 1)[0]
    if path not in ROUTES:
        return _json(404, {"status": "not found"})
    if method not in (b"GET", b"HEAD"):
        return _json(405, {"status": "method not allowed"}, ALLOW)
    if path == b"/health/live":
        return _json(200, {"status": "alive"})
    warnings = {"warnings": readiness.warnings} if readiness.warnings else {}
    if path == b"/health/ready":
        if readiness.ready:
            return _json(200, {"status": "ready", **warnings})
        return _json(503, {"status": "not ready", "reasons": readiness.reasons, **warnings})
    if path == b"/health":
        return _json(200, {**info(), "ready": readiness.ready, "reasons": readiness.reasons, **warnings})
    return Response(200, metrics.render().encode(), METRICS_CONTENT_TYPE)


Handler = Callable[[bytes, bytes], Response]


class _Client:
    """One health connection in its slot: evicting it cancels its task's scope."""

    def __init__(self, stream: trio.SocketStream) -> None:
        self.stream = stream
        self.scope = trio.CancelScope()

    def evict(self) -> None:
        self.scope.cancel()

    def unread_bytes(self) -> int:
        return unread_bytes(self.stream.socket)


async def _next_event(stream: trio.abc.Stream, conn: h11.Connection, begun: Callable[[], None]) -> object:
    """The next h11 event (an Event, or PAUSED), reading as needed; callers dispatch on its type.

    ``begun`` is called whenever bytes arrive, so the caller can tell a connection that started a
    request from one that has sent nothing yet.
    """
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = bytes(await stream.receive_some(READ_SIZE))
            if data:
                begun()
            conn.receive_data(data)
        else:
            return event


async def _send(stream: trio.abc.Stream, conn: h11.Connection, response: Response, *, head: bool, close: bool) -> None:
    headers = [
        ("content-type", response.content_type),
        ("content-length", str(len(response.body))),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        *response.headers,
    ]
    if close:
        headers.append(("connection", "close"))
    reason = HTTPStatus(response.status).phrase.encode()
    await stream.send_all(conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason)) or b"")
    if not head:  # h11 frames a HEAD response as empty but keeps our Content-Length, as for GET
        await stream.send_all(conn.send(h11.Data(data=response.body)) or b"")
    await stream.send_all(conn.send(h11.EndOfMessage()) or b"")


After = Literal["keep", "close", "linger"]


async def _exchange(
    stream: trio.abc.Stream, conn: h11.Connection, handler: Handler, slots: Slots[_Client], client: _Client
) -> After:
    """Read one request and answer it; say what to do with the connection afterwards."""
    # Until the whole request has arrived the connection may be evicted for a newcomer: a head that
    # announces a body and then goes silent holds nothing the probes need.
    slots.idle(client, True)
    begun = partial(slots.began, client)
    event = await _next_event(stream, conn, begun)
    if not isinstance(event, h11.Request):
        return "close"  # the client closed between requests
    request, body = event, 0
    # h11 caps only an incomplete head; one that arrives whole in a single read is measured here.
    if len(request.target) + sum(len(k) + len(v) + 4 for k, v in request.headers) > MAX_HEADER_BYTES:
        await _send(stream, conn, _json(431, {"status": "request header fields too large"}), head=False, close=True)
        return "linger"
    while not isinstance(event, h11.EndOfMessage):
        event = await _next_event(stream, conn, begun)
        if isinstance(event, h11.ConnectionClosed):
            return "close"
        if isinstance(event, h11.Data):
            body += len(event.data)
            if body > MAX_BODY_BYTES:
                await _send(stream, conn, _json(413, {"status": "body too large"}), head=False, close=True)
                return "linger"
    slots.idle(client, False)
    try:
        response = handler(request.method, request.target)
    except Exception:
        log.exception("health route %r failed", request.target.split(b"?", 1)[0][:100])
        response = _json(500, {"status": "error"})
    await _send(stream, conn, response, head=request.method == b"HEAD", close=False)
    return "keep" if conn.our_state is h11.DONE and conn.their_state is h11.DONE else "close"


async def _linger(stream: trio.abc.Stream) -> None:
    """Half-close and drain briefly, so the client reads our error before the kernel resets it."""
    with trio.move_on_after(LINGER_SECONDS):
        if isinstance(stream, trio.SocketStream):
            await stream.send_eof()
        drained = 0
        while drained < MAX_BODY_BYTES:
            data = await stream.receive_some(READ_SIZE)
            if not data:
                break
            drained += len(data)


async def _connection(client: _Client, handler: Handler, slots: Slots[_Client], timeout: float) -> None:
    """Serve requests on one connection, each within ``timeout`` seconds in total; never raise."""
    stream = client.stream
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
    try:
        with client.scope:
            after: After = "keep"
            while after == "keep":
                after = "close"
                with trio.move_on_after(timeout):
                    try:
                        after = await _exchange(stream, conn, handler, slots, client)
                    except h11.RemoteProtocolError as exc:
                        if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                            status = exc.error_status_hint
                            error = _json(status, {"status": HTTPStatus(status).phrase.lower()})
                            await _send(stream, conn, error, head=False, close=True)
                            after = "linger"
                if after == "keep":
                    conn.start_next_cycle()
            if after == "linger":
                await _linger(stream)
    except Exception:
        log.debug("health connection failed", exc_info=True)
    finally:
        slots.release(client)
        await trio.aclose_forcefully(stream)


_BUSY = json.dumps({"status": "busy"}).encode()
_BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_BUSY), _BUSY)
)


async def _refuse(stream: trio.abc.Stream) -> None:
    """Turn away a connection when every slot is busy answering: a quick 503, then close."""
    with trio.move_on_after(LINGER_SECONDS), contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await stream.send_all(_BUSY_RESPONSE)
    await trio.aclose_forcefully(stream)


async def _accept(
    listener: trio.SocketListener, nursery: trio.Nursery, slots: Slots[_Client], handler: Handler, timeout: float
) -> None:
    async with listener:
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                # Out of descriptors or buffers (EMFILE, ENOBUFS): back off rather than spin, like trio.serve_listeners.
                log.warning("health listener cannot accept: %s", exc.strerror)
                await trio.sleep(0.1)
                continue
            client = _Client(stream)
            if slots.admit(client):
                nursery.start_soon(_connection, client, handler, slots, timeout)
            else:
                nursery.start_soon(_refuse, stream)


async def serve_health(
    host: str,
    port: int,
    *,
    metrics: Metrics,
    readiness: Readiness,
    info: Callable[[], dict[str, object]],
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    request_timeout: float = 10.0,
    max_connections: int = 64,
) -> None:
    """Serve the health and metrics routes until cancelled; reports the bound port (``port`` may be 0)."""
    listeners = await trio.open_tcp_listeners(port, host=host)
    slots: Slots[_Client] = Slots(max_connections)

    def handler(method: bytes, target: bytes) -> Response:
        return respond(method, target, metrics=metrics, readiness=readiness, info=info)

    async with trio.open_nursery() as nursery:
        for listener in listeners:
            nursery.start_soon(_accept, listener, nursery, slots, handler, request_timeout)
        bound = int(listeners[0].socket.getsockname()[1])
        log.info("health and metrics listening on %s port %d", host, bound)
        task_status.started(bound)
