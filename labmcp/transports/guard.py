"""ASGI guard in front of the SDK's Streamable HTTP app: who may ask, what is admitted, when it runs.

In order, for every request: the path (``/mcp``, and ``/mcp/`` served the same; anything else 404,
never a redirect), Host and Origin against allow-lists (DNS rebinding), the bearer credential (its
*principal* owns sessions), the session's owner. For a POST then: the whole body within the body
deadline (408 otherwise), admission of the message (``labmcp.transports.admission``, shared with
stdio), whether it is answered with JSON or SSE (``labmcp.transports.answers``), and only then a
request slot, so slow bodies hold no slot. A new session may close the least
recently used idle one (``labmcp.transports.sessions``). A client that disconnects before its answer
is complete has its request cancelled (a ``notifications/cancelled`` is handed to the SDK for it),
so queued LabArchives calls are released.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import mcp_types as types
import trio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from labmcp.config import HTTPSettings
from labmcp.labarchives.regions import is_loopback_host
from labmcp.transports.admission import Admitted, Refusal, admit
from labmcp.transports.answers import mark
from labmcp.transports.sessions import ANONYMOUS, SessionTable, static_principal

log = logging.getLogger("labmcp.http")

MCP_PATH = "/mcp"
SESSION_HEADER = b"mcp-session-id"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")

Authenticate = Callable[[Mapping[bytes, bytes]], str | None]
"""The auth seam: request headers (lower-case names) to the caller's principal, None to refuse (401)."""


@dataclass(frozen=True, slots=True)
class AuthHook:
    """What an auth layer other than the static token (``labmcp.auth``, OAuth mode) plugs in: the
    principal of a request, the ``WWW-Authenticate`` value of a 401, the other paths it serves (passed
    to the SDK after the Host check), the public host name, and options for the SDK's app."""

    authenticate: Authenticate
    challenge: bytes
    serves: Callable[[str], bool]
    public_host: str = ""
    sdk_options: Mapping[str, Any] = field(default_factory=dict)


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


def static_authenticator(token: bytes | None) -> Authenticate:
    """Static mode: one bearer token, compared in constant time; its principal is a keyed hash of it."""
    if token is None:
        return lambda headers: ANONYMOUS
    principal = static_principal(os.urandom(32), token)

    def authenticate(headers: Mapping[bytes, bytes]) -> str | None:
        scheme, _, credential = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), token):
            return principal
        return None

    return authenticate


async def _reply(send: Send, status: int, body: bytes, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send, status: int, message: str, extra: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await _reply(send, status, json.dumps({"error": message}).encode(), extra)


async def _answer(send: Send, refusal: Refusal, status: int | None = None) -> None:
    """A JSON-RPC error for one message: 200 when it names a request id (the client's answer), else 400."""
    await _reply(send, status or (200 if refusal.request_id is not None else 400), refusal.body())


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the body already read, then whatever the connection says next."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


CLOSE = ((b"connection", b"close"),)
RETRY = ((b"retry-after", b"1"), (b"connection", b"close"))
BODY_BUDGET = 16 * 1024 * 1024
"""Bytes of request bodies held while they arrive, over all connections (memory stays bounded)."""


class Guard:
    """ASGI middleware in front of the SDK app: routing, DNS-rebinding checks, auth, admission, limits."""

    def __init__(
        self,
        app: ASGIApp,
        settings: HTTPSettings,
        port: int,
        *,
        authenticate: Authenticate | None = None,
        auth: AuthHook | None = None,
        clock: Callable[[], float] = trio.current_time,
    ) -> None:
        self._app = app
        token = settings.token.reveal().encode() if settings.token else None
        self._auth = auth
        self._authenticate = auth.authenticate if auth else authenticate or static_authenticator(token)
        self._challenge = auth.challenge if auth else b'Bearer realm="labmcp"'
        self._hosts = allowed_hosts(settings) + ((auth.public_host,) if auth and auth.public_host else ())
        self._origins = allowed_origins(settings, port)
        self._max_body = settings.max_body_bytes
        self._body_timeout = settings.body_timeout
        self._max_active = settings.max_concurrent_requests
        self._active = 0
        self._buffered = 0
        self._clock = clock
        self.sessions = SessionTable(
            total=settings.max_sessions,
            per_principal=settings.max_sessions_per_credential,
            idle_timeout=settings.idle_timeout,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._app(scope, receive, send)
            return
        if scope["type"] != "http":  # websocket: never served
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope.get("path") == MCP_PATH + "/":
            scope = {**scope, "path": MCP_PATH, "raw_path": MCP_PATH.encode()}
        headers: dict[bytes, bytes] = {}
        for key, value in scope.get("headers", []):
            headers.setdefault(bytes(key).lower(), bytes(value))
        problem = self._check(scope, headers)
        if isinstance(problem, tuple):
            status, message, extra = problem
            log.info("refused %s %s: %s", scope.get("method"), str(scope.get("path"))[:200], message)
            await _refuse(send, status, message, extra)
            return
        if problem is None:  # a path the auth hook serves: to the SDK after its body, no admission
            body = await self._read_body(receive, send)
            if body is not None:
                await self._app(scope, _replay(body, receive), send)
            return
        principal = problem
        session_id = headers.get(SESSION_HEADER, b"").decode("latin-1") or None
        if session_id is not None and self.sessions.has_expired(session_id, self._clock()):
            await self._close_session(scope, session_id, "expired")
        if session_id is not None and not self.sessions.owned_by(session_id, principal):
            # Another principal's session answers exactly like an unknown one, so ids cannot be probed.
            await _answer(send, Refusal(types.INVALID_REQUEST, "Session not found"), 404)
            return
        if scope.get("method") != "POST":
            # GET opens a session's SSE stream (lives as long as the session) and DELETE ends one:
            # neither is a unit of work, so they hold no request slot.
            await self._forward(scope, receive, send, session_id)
            return
        body = await self._read_body(receive, send)
        if body is None:
            return
        item = admit(body, self._max_body)
        if isinstance(item, Refusal):
            await _answer(send, item)
            return
        if self._active >= self._max_active:
            await _refuse(send, 503, "too many concurrent requests; retry shortly", [(b"retry-after", b"1")])
            return
        opening = session_id is None and item.message.get("method") == "initialize"
        if opening and not await self._make_room(scope, principal):
            log.warning("refused a new session: every session of this credential or of the server is busy")
            await _answer(send, Refusal(types.INTERNAL_ERROR, "Too many sessions in use; retry shortly"), 503)
            return
        await self._serve(mark(scope, item.message), receive, send, body, item, session_id, principal)

    def _check(
        self, scope: Scope, headers: Mapping[bytes, bytes]
    ) -> str | tuple[int, str, list[tuple[bytes, bytes]]] | None:
        """The caller's principal, None for a path of the auth hook, or why the request is refused
        (status, message, extra headers)."""
        path = str(scope.get("path"))
        extra = path != MCP_PATH and self._auth is not None and self._auth.serves(path)
        if path != MCP_PATH and not extra:
            return 404, f"not found; the MCP endpoint is {MCP_PATH}", []
        host = headers.get(b"host", b"").decode("latin-1")
        if not _host_ok(host, self._hosts):
            return 421, "Host header not allowed (set LABMCP_ALLOWED_HOSTS)", []
        if extra:
            # The OAuth endpoints answer browsers of any origin (CORS, by design of the SDK's routes).
            return None
        origin = headers.get(b"origin")
        if origin is not None and not _origin_ok(origin.decode("latin-1"), self._origins):
            return 403, "Origin not allowed (set LABMCP_ALLOWED_ORIGINS)", []
        principal = self._authenticate(headers)
        if principal is None:
            return 401, "missing or wrong bearer token", [(b"www-authenticate", self._challenge)]
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self._max_body):
            return 413, f"request body over {self._max_body} bytes", list(CLOSE)
        return principal

    async def _read_body(self, receive: Receive, send: Send) -> bytes | None:
        """The whole body within the body deadline, or None once the request has been answered."""
        chunks: list[bytes] = []
        size = 0
        try:
            with trio.move_on_after(self._body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = bytes(message.get("body", b""))
                    size += len(chunk)
                    if size > self._max_body:
                        await _refuse(send, 413, f"request body over {self._max_body} bytes", CLOSE)
                        return None
                    if self._buffered + len(chunk) > BODY_BUDGET:
                        await _refuse(send, 503, "too many request bodies arriving; retry shortly", RETRY)
                        return None
                    self._buffered += len(chunk)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        finally:
            self._buffered -= sum(map(len, chunks))
        log.info("refused a request whose body did not arrive within %g s", self._body_timeout)
        await _refuse(send, 408, f"the request body did not arrive within {self._body_timeout:g} s", CLOSE)
        return None

    async def _make_room(self, scope: Scope, principal: str) -> bool:
        """Close expired sessions, then whichever idle ones a new session of ``principal`` replaces."""
        for session_id in self.sessions.expired(self._clock()):
            await self._close_session(scope, session_id, "expired")
        admitted, victims = self.sessions.make_room(principal)
        for session_id in victims:
            await self._close_session(scope, session_id, "replaced by a newer session")
        return admitted

    async def _close_session(self, scope: Scope, session_id: str, why: str) -> None:
        """End a session through the SDK's own DELETE, so its server task and streams go with it."""
        self.sessions.remove(session_id)
        log.info("closed an idle session: %s", why)
        headers = [(b"host", b"localhost"), (SESSION_HEADER, session_id.encode())]
        internal = {**scope, "method": "DELETE", "headers": headers, "query_string": b""}

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def discard(message: Message) -> None:
            pass

        with trio.CancelScope(shield=True):
            await self._app(internal, receive, discard)

    async def _forward(self, scope: Scope, receive: Receive, send: Send, session_id: str | None) -> None:
        """GET and DELETE go to the SDK as they are; the session counts as in use meanwhile."""
        status: int | None = None

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        if session_id is not None:
            self.sessions.begin(session_id, self._clock())
        try:
            await self._app(scope, receive, watch)
        finally:
            if session_id is not None:
                self.sessions.end(session_id, self._clock())
                if scope.get("method") == "DELETE" or status == 404:
                    self.sessions.remove(session_id)

    async def _serve(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        item: Admitted,
        session_id: str | None,
        principal: str,
    ) -> None:
        """Run one admitted POST through the SDK holding a request slot; cancel it if the client leaves."""
        # A plain counter, not a trio limiter: the SDK may send the last message from another task.
        self._active += 1
        held, complete = True, False
        status: int | None = None
        disconnected = trio.Event()
        delivered = False

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._active -= 1

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def watch(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                for key, value in message.get("headers", []):
                    if session_id is None and status < 400 and bytes(key).lower() == SESSION_HEADER:
                        # Recorded before the client can read the id and use it.
                        self.sessions.add(bytes(value).decode("latin-1"), principal, self._clock())
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                # The slot is free once the answer is complete, not when the SDK's handler returns; it
                # is released before the last write, since the client may send its next request (run
                # by another task) before this task is scheduled again.
                complete = True
                release()
            await send(message)

        async def listen() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            disconnected.set()
            if not complete and session_id is not None and item.request_id is not None:
                await self._cancel(scope, item.request_id)

        if session_id is not None:
            self.sessions.begin(session_id, self._clock())
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(listen)
                await self._app(scope, replay, watch)
                nursery.cancel_scope.cancel()
        finally:
            release()
            if session_id is not None:
                self.sessions.end(session_id, self._clock())
                if status == 404:
                    self.sessions.remove(session_id)

    async def _cancel(self, scope: Scope, request_id: Any) -> None:
        """Tell the SDK the client gave up on ``request_id``, so its handler (and upstream calls) stop."""
        note = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": request_id}}
        data = json.dumps(note).encode()

        async def receive() -> Message:
            return {"type": "http.request", "body": data, "more_body": False}

        async def discard(message: Message) -> None:
            pass

        log.info("client disconnected before its answer; cancelling the request")
        with trio.CancelScope(shield=True):
            await self._app({**scope, "method": "POST"}, receive, discard)
