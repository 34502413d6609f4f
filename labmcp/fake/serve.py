"""The thin real-HTTP adapter of the fake: h11 over trio sockets on loopback, plus faults and a request log.

Keep-alive, Content-Length and chunked request bodies come from h11; a malformed request gets a
400 and the connection closes, and no connection can take the server down.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus

import h11
import trio

from labmcp.fake.exchange import FakeConfig, FakeResponse, parse_request
from labmcp.fake.faults import TRANSPORT_KINDS, Fault, Faults, fault_response
from labmcp.fake.handler import FakeHandler, split_path
from labmcp.fake.store import Store
from labmcp.secret import Secret

MAX_BODY = 64 * 1024 * 1024
CHUNK = 64 * 1024
_REDACTED_PARAMS = frozenset({"sig", "password", "token"})


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a client needs to reach the fake as its demo user."""

    akid: str
    secret: Secret
    email: str
    token: Secret
    uid: str

    @property
    def password(self) -> str:
        """The access password in clear, for code that must hand it to a client or subprocess."""
        return self.secret.reveal()


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One HTTP request as the fake saw it; ``params`` keep akid but drop sig, password and token."""

    trio_time: float | None
    monotonic: float
    verb: str
    api_class: str
    api_method: str
    status: int
    error_code: int | None
    params: Mapping[str, str] = field(default_factory=dict)
    fault: str | None = None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _trio_time() -> float | None:
    try:
        return trio.current_time()
    except RuntimeError:
        return None


class FakeLabArchives:
    """A fake LabArchives ELN API: pure handler + store + faults, served over loopback HTTP."""

    def __init__(self, store: Store, config: FakeConfig | None = None, credentials: Credentials | None = None) -> None:
        self.store = store
        self.config = config or FakeConfig()
        self.handler = FakeHandler(store, self.config)
        self.faults = Faults()
        self.log: list[LoggedRequest] = []
        self.base_url = ""
        self._credentials = credentials

    @property
    def credentials(self) -> Credentials:
        if self._credentials is None:
            raise RuntimeError("this fake was built without demo credentials")
        return self._credentials

    @classmethod
    def demo(cls, config: FakeConfig | None = None) -> FakeLabArchives:
        """The demo lab (see ``labmcp.fake.demo``) with its user's credentials, token valid for an hour."""
        from labmcp.fake import demo  # noqa: PLC0415  # the demo data set is big; only demo users pay for it

        config = config or FakeConfig()
        store = demo.build(_now_ms() + config.clock_offset_ms)
        creds = Credentials(demo.AKID, Secret(demo.PASSWORD), demo.EMAIL, Secret(demo.TOKEN), demo.UID)
        return cls(store, config, creds)

    @classmethod
    def institution(cls, config: FakeConfig | None = None) -> FakeLabArchives:
        """Three researchers with web passwords and their own notebooks (``labmcp.fake.institution``),
        for the browser sign-in (``api_user_login``); the credentials are the institution's akid."""
        from labmcp.fake import institution  # noqa: PLC0415

        return cls(institution.build(), config)

    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Bind, set ``base_url`` (ending in ``/api``), report it through ``task_status``, serve until cancelled."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound_port = listeners[0].socket.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{bound_port}/api"
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._connection, listeners)
            task_status.started(self.base_url)

    @contextmanager
    def running_in_thread(self) -> Iterator[str]:
        """Serve from a private trio loop in a thread, for synchronous clients such as labapi; yields base_url."""
        started = threading.Event()
        state: dict[str, object] = {}

        async def main() -> None:
            with trio.CancelScope() as scope:
                state["scope"], state["token"] = scope, trio.lowlevel.current_trio_token()
                async with trio.open_nursery() as nursery:
                    await nursery.start(self.serve)
                    started.set()

        def run() -> None:
            try:
                trio.run(main)
            except BaseException as exc:  # reported to the caller's thread below
                state["error"] = exc
            finally:
                started.set()

        thread = threading.Thread(target=run, name="fake-labarchives", daemon=True)
        thread.start()
        started.wait()
        if "error" in state:
            raise RuntimeError("the fake LabArchives did not start") from state["error"]  # type: ignore[misc]
        try:
            yield self.base_url
        finally:
            scope, token = state["scope"], state["token"]
            assert isinstance(scope, trio.CancelScope) and isinstance(token, trio.lowlevel.TrioToken)
            trio.from_thread.run_sync(scope.cancel, trio_token=token)
            thread.join()

    async def _connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        try:
            while await self._one_exchange(conn, stream):
                conn.start_next_cycle()
        except h11.RemoteProtocolError as exc:
            await self._bad_request(conn, stream, exc.error_status_hint)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        except Exception:  # a fake must survive anything a client does; one bad connection only closes itself
            await self._bad_request(conn, stream, 500)
        finally:
            await stream.aclose()

    async def _bad_request(self, conn: h11.Connection, stream: trio.SocketStream, status: int) -> None:
        if conn.our_state not in {h11.IDLE, h11.SEND_RESPONSE}:
            return
        body = f"{status} {HTTPStatus(status).phrase}\n".encode()
        headers = [("Content-Type", "text/plain"), ("Content-Length", str(len(body))), ("Connection", "close")]
        try:
            await stream.send_all(conn.send(h11.Response(status_code=status, headers=headers)) or b"")
            await stream.send_all(conn.send(h11.Data(data=body)) or b"")
            await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
        except (h11.LocalProtocolError, trio.BrokenResourceError, trio.ClosedResourceError):
            pass

    async def _next_event(self, conn: h11.Connection, stream: trio.SocketStream) -> object:
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            conn.receive_data(await stream.receive_some(CHUNK))

    async def _one_exchange(self, conn: h11.Connection, stream: trio.SocketStream) -> bool:
        """Read one request and answer it; False when the connection must close."""
        event = await self._next_event(conn, stream)
        if not isinstance(event, h11.Request):
            return False
        body = bytearray()
        while True:
            part = await self._next_event(conn, stream)
            if isinstance(part, h11.Data):
                body += part.data
                if len(body) > MAX_BODY:
                    await self._bad_request(conn, stream, 413)
                    return False
            elif isinstance(part, h11.EndOfMessage):
                break
            else:
                return False
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in event.headers}
        target = event.target.decode("latin-1")
        request = parse_request(event.method.decode("ascii", "replace"), target, headers, bytes(body))
        # The browser sign-in page is logged under its path, with an empty class (it is no API call).
        where = split_path(request.path) or ("", request.path.strip("/")[:64])
        fault = self.faults.take(where[1])
        if fault is not None and fault.kind in TRANSPORT_KINDS and not await self._transport_fault(fault, stream):
            self._record(request.verb, where, request.params, 0, None, fault)
            return False
        response = self.handler.handle(request, _now_ms())
        if fault is not None and fault.kind not in TRANSPORT_KINDS:
            response = fault_response(fault, response, self.config, target)
        self._record(request.verb, where, request.params, response.status, response.error_code, fault)
        cut = None
        if fault is not None and fault.kind == "hang_mid_body":
            cut = int(len(response.body) * fault.number("fraction", 0.5))
        await self._send(conn, stream, response, request.verb == "HEAD", cut)
        return conn.our_state is h11.DONE and conn.their_state is h11.DONE

    async def _transport_fault(self, fault: Fault, stream: trio.SocketStream) -> bool:
        """Act out a connection-level fault; True when the normal answer should follow."""
        if fault.kind == "latency":
            await trio.sleep(fault.number("seconds", 1.0))
            return True
        if fault.kind == "hang_before_response":
            await trio.sleep_forever()
        if fault.kind == "reset":
            # SO_LINGER 0 makes close() send RST instead of FIN: the client sees a connection reset.
            stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            stream.socket.close()
            return False
        return True  # hang_mid_body happens while sending

    async def _send(
        self, conn: h11.Connection, stream: trio.SocketStream, response: FakeResponse, head: bool, cut: int | None
    ) -> None:
        headers = [*response.headers, ("Content-Length", str(len(response.body))), ("Server", "labmcp-fake")]
        reason = (
            HTTPStatus(response.status).phrase.encode() if response.status in HTTPStatus._value2member_map_ else b""
        )
        await stream.send_all(
            conn.send(h11.Response(status_code=response.status, headers=headers, reason=reason)) or b""
        )
        if head:
            await stream.send_all(conn.send(h11.EndOfMessage()) or b"")
            return
        body = response.body if cut is None else response.body[:cut]
        for start in range(0, len(body), CHUNK):
            await stream.send_all(conn.send(h11.Data(data=body[start : start + CHUNK])) or b"")
        if cut is not None:
            await trio.sleep_forever()  # hang_mid_body: headers and part of the body sent, then silence
        await stream.send_all(conn.send(h11.EndOfMessage()) or b"")

    def _record(
        self,
        verb: str,
        where: tuple[str, str],
        params: Mapping[str, str],
        status: int,
        error_code: int | None,
        fault: Fault | None,
    ) -> None:
        kept = {k: v for k, v in params.items() if k not in _REDACTED_PARAMS}
        self.log.append(
            LoggedRequest(
                _trio_time(),
                time.monotonic(),
                verb,
                where[0],
                where[1],
                status,
                error_code,
                kept,
                fault.kind if fault else None,
            )
        )
