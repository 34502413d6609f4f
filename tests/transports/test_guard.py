"""The HTTP guard and serving loop in-process: the real SDK app behind ``Guard`` on hypercorn's parts
(``labmcp.transports.hyper``), on a real loopback socket, spoken to with raw httpx, raw sockets and the
``h2`` library's client side. Waits are bounded by a deadline derived from a round trip measured in the
same test, never by a fixed budget."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import h2.config
import h2.connection
import httpx
import trio

from labmcp.config import HTTPSettings
from labmcp.errors import UpstreamError
from labmcp.notebook.service import NotebookService
from labmcp.server.app import build_server
from labmcp.server.arguments import ToolLimits
from labmcp.server.catalog import enabled_tools
from labmcp.server.deadline import Deadlines
from labmcp.transports import hyper
from labmcp.transports.guard import AuthHook
from labmcp.transports.http import build_app, hypercorn_config

TOKENS = {b"token-alice": "alice", b"token-bob": "bob"}
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}


def two_users(headers: Mapping[bytes, bytes]) -> str | None:
    """The auth seam as the OAuth layer will use it: two credentials, two principals."""
    scheme, _, credential = headers.get(b"authorization", b"").partition(b" ")
    return TOKENS.get(credential) if scheme.lower() == b"bearer" else None


async def no_service() -> NotebookService:
    raise UpstreamError("no LabArchives in this test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.patience = math.inf

    def headers(self, token: str = "token-alice", **extra: str) -> dict[str, str]:
        return {**JSON_HEADERS, "Authorization": f"Bearer {token}", **extra}

    async def open_session(self, http: httpx.AsyncClient, token: str = "token-alice") -> dict[str, str]:
        answer = await http.post(self.url, headers=self.headers(token), content=json.dumps(INIT))
        assert answer.status_code == 200, answer.text
        headers = self.headers(token, **{"Mcp-Session-Id": answer.headers["mcp-session-id"]})
        headers["MCP-Protocol-Version"] = "2025-06-18"
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(self.url, headers=headers, content=json.dumps(note))).status_code == 202
        return headers

    async def tools_list(self, http: httpx.AsyncClient, headers: dict[str, str], request_id: int = 1) -> httpx.Response:
        body = {"jsonrpc": "2.0", "id": request_id, "method": "tools/list"}
        return await http.post(self.url, headers=headers, content=json.dumps(body))

    async def raw(self, data: bytes, *, read: bool = True) -> bytes:
        """Send bytes on a fresh connection; what comes back until the server closes it."""
        stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        got = b""
        async with stream:
            await stream.send_all(data)
            with trio.fail_after(self.patience):
                while read and (chunk := await stream.receive_some(65536)):
                    got += chunk
        return got


@asynccontextmanager
async def served(
    get_service: Callable[[], Awaitable[NotebookService]] = no_service,
    deadlines: Deadlines | None = None,
    keep_alive: float | None = None,
    auth: AuthHook | None = None,
    **changes: Any,
) -> AsyncIterator[Served]:
    port = free_port()
    settings = replace(HTTPSettings(port=port), **changes)
    limits = ToolLimits(content_limit=40_000, max_depth=5, enabled=enabled_tools(()))
    server = build_server(lambda ctx: get_service(), name="t", version="0", limits=limits, deadlines=deadlines)
    app = build_app(server, settings, port, authenticate=two_users, auth=auth)
    shutdown = trio.Event()
    async with trio.open_nursery() as nursery:
        config = hypercorn_config(settings, port)
        if keep_alive is not None:
            config.keep_alive_timeout = keep_alive
        connections = hyper.Connections(settings.max_connections)
        await nursery.start(hyper.serve, app, config, shutdown, connections)
        result = Served(port)
        async with httpx.AsyncClient(timeout=None) as http:
            start = trio.current_time()
            if settings.stateless:
                assert (await result.tools_list(http, result.headers())).status_code == 200
            else:
                await result.open_session(http)
            # Every wait below is bounded by 200 round trips of this machine, as measured now.
            result.patience = max(5.0, 200 * (trio.current_time() - start))
        yield result
        shutdown.set()


async def test_another_credential_can_neither_use_nor_end_a_session() -> None:
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        bob = {**alice, "Authorization": "Bearer token-bob"}
        assert (await srv.tools_list(http, bob)).status_code == 404
        assert (await http.get(srv.url, headers=bob)).status_code == 404
        assert (await http.delete(srv.url, headers=bob)).status_code == 404
        answer = await srv.tools_list(http, alice)
        assert answer.status_code == 200 and "list_notebooks" in answer.text
        assert (await http.delete(srv.url, headers=alice)).status_code == 200
        assert (await srv.tools_list(http, alice)).status_code == 404


async def test_a_wrong_token_is_401_before_anything_else() -> None:
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        answer = await srv.tools_list(http, {**alice, "Authorization": "Bearer nope"})
        assert answer.status_code == 401 and "nope" not in answer.text


async def test_a_flood_of_sessions_never_locks_out_a_newcomer() -> None:
    async with (
        served(max_sessions=5, max_sessions_per_credential=3) as srv,
        httpx.AsyncClient(timeout=srv.patience) as http,
    ):
        for _ in range(40):
            assert (await http.post(srv.url, headers=srv.headers(), content=json.dumps(INIT))).status_code == 200
        bob = await srv.open_session(http, "token-bob")
        assert (await srv.tools_list(http, bob)).status_code == 200
        alice = [await srv.open_session(http) for _ in range(10)]
        live = [(await srv.tools_list(http, headers)).status_code for headers in alice]
        # alice's flood replaced her own least recently used idle sessions, never bob's
        assert live.count(200) == 3 and live.count(404) == 7, live
        assert (await srv.tools_list(http, bob)).status_code == 200


async def test_trailing_slash_is_served_like_mcp_and_nothing_redirects() -> None:
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience, follow_redirects=False) as http:
        slash = srv.url + "/"
        answer = await http.post(slash, headers=srv.headers(Host="evil.example"), content=json.dumps(INIT))
        assert answer.status_code == 421 and "location" not in answer.headers
        answer = await http.post(slash, headers=srv.headers(), content=json.dumps(INIT))
        assert answer.status_code == 200 and "location" not in answer.headers
        for path in ("/mcp//", "//mcp", "/mcp/x", "/MCP", "/"):
            answer = await http.post(f"http://127.0.0.1:{srv.port}{path}", headers=srv.headers(), content=b"{}")
            assert answer.status_code == 404 and "location" not in answer.headers, path


def _h2_frames(reset: bool) -> bytes:
    """An HTTP/2 client: preface, POST /mcp without a token and an open body, maybe RST_STREAM, then DATA."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    headers = [(":method", "POST"), (":path", "/mcp"), (":scheme", "http"), (":authority", "127.0.0.1")]
    conn.send_headers(1, headers)
    data = conn.data_to_send()
    if reset:
        conn.reset_stream(1)
        data += conn.data_to_send()
        # h2 refuses to send DATA on a stream it reset; write the raw DATA frame for stream 1 by hand.
        data += b"\x00\x00\x02\x00\x01\x00\x00\x00\x01{}"
    else:
        conn.send_data(1, b"{}", end_stream=True)
        data += conn.data_to_send()
    return data


async def test_http2_prior_knowledge_and_h2c_upgrade_are_refused_and_the_server_keeps_serving() -> None:
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        for reset in (False, True):
            assert await srv.raw(_h2_frames(reset)) == b""  # closed: this server speaks HTTP/1.1 only
        upgrade = (
            b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
            b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
        )
        answer = await srv.raw(upgrade)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:100]
        alice = await srv.open_session(http)
        assert (await srv.tools_list(http, alice)).status_code == 200


async def test_slow_bodies_hold_no_slot_and_get_408() -> None:
    async with (
        served(max_concurrent_requests=1, body_timeout=0.5) as srv,
        httpx.AsyncClient(timeout=srv.patience) as http,
    ):
        alice = await srv.open_session(http)
        head = (
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer token-alice\r\n"
            f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
            f"Mcp-Session-Id: {alice['Mcp-Session-Id']}\r\nContent-Length: 100\r\n\r\n{{"
        ).encode()
        async with trio.open_nursery() as nursery:
            answers: list[bytes] = []

            async def slow() -> None:
                answers.append(await srv.raw(head))

            for _ in range(5):
                nursery.start_soon(slow)
            for n in range(5):
                answer = await srv.tools_list(http, alice, request_id=100 + n)
                assert answer.status_code == 200, answer.text
        assert len(answers) == 5 and all(a.startswith(b"HTTP/1.1 408") for a in answers), answers


async def test_a_request_past_its_deadline_is_answered_with_a_tool_error() -> None:
    async def forever() -> NotebookService:
        await trio.sleep_forever()
        raise AssertionError

    async with served(forever, Deadlines(0.2)) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        call = {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "list_notebooks"}}
        answer = await http.post(srv.url, headers=alice, content=json.dumps(call))
        assert answer.status_code == 200
        result = next(m for m in _messages(answer) if m.get("id") == 5)["result"]
        assert result["isError"] is True and "longer than 0.2 s" in result["content"][0]["text"]


async def test_a_client_that_disconnects_releases_its_work() -> None:
    started, released = trio.Event(), trio.Event()

    async def held() -> NotebookService:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            released.set()
        raise AssertionError

    async with served(held) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "list_notebooks"}}
        body = json.dumps(call).encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in alice.items())
        request = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n".encode()
        stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
        await stream.send_all(request + body)
        with trio.fail_after(srv.patience):
            await started.wait()
        await stream.aclose()
        with trio.fail_after(srv.patience):
            await released.wait()
        assert (await srv.tools_list(http, alice, request_id=10)).status_code == 200


async def test_admission_refusals_over_http_carry_the_id_and_code() -> None:
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        cases = [
            (b"[" * 5000, 400, -32600, None),
            (b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"\\ud800":1}}', 200, -32602, 3),
            (b'{"jsonrpc":"2.0","id":4,"method":"ping","params":{"a":1e400}}', 200, -32602, 4),
            (b'{"jsonrpc":"2.0","id":5,"id":6,"method":"ping"}', 400, -32600, None),
            (b"\xff\xfe", 400, -32700, None),
        ]
        for body, status, code, request_id in cases:
            answer = await http.post(srv.url, headers=alice, content=body)
            assert answer.status_code == status, body[:50]
            error = answer.json()
            assert error["error"]["code"] == code and error["id"] == request_id
        assert (await srv.tools_list(http, alice)).status_code == 200


def _messages(answer: httpx.Response) -> list[dict[str, Any]]:
    if answer.headers.get("content-type", "").startswith("text/event-stream"):
        return [
            json.loads(line[5:]) for line in answer.text.splitlines() if line.startswith("data:") and line[5:].strip()
        ]
    body = answer.json()
    return body if isinstance(body, list) else [body]


async def test_an_answer_that_takes_longer_than_any_connection_timeout_arrives_whole() -> None:
    """hypercorn's read timeout used to cut an answer still being produced (the client is silent then)."""
    waited = trio.Event()

    async def slow() -> NotebookService:
        await trio.sleep(1.0)  # the server's work, five times the keep-alive timeout below
        waited.set()
        raise UpstreamError("slow upstream answered with an error")

    async with served(slow, keep_alive=0.2) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        assert hypercorn_config(HTTPSettings(), srv.port).read_timeout is None
        alice = await srv.open_session(http)
        call = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_notebooks"}}
        answer = await http.post(srv.url, headers=alice, content=json.dumps(call))
        assert waited.is_set()
        result = next(m for m in _messages(answer) if m.get("id") == 7)["result"]
        assert result["isError"] and "slow upstream" in result["content"][0]["text"]


async def test_idle_and_half_open_connections_make_room_for_a_newcomer() -> None:
    async with served(max_connections=4) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        streams = []
        for _ in range(40):  # ten times the cap: request heads that never complete
            stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
            await stream.send_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            streams.append(stream)
        for n in range(3):
            assert (await srv.tools_list(http, alice, request_id=20 + n)).status_code == 200
        for stream in streams[: 40 - 4]:  # the longest idle went first, to make room
            with trio.fail_after(srv.patience):
                assert await stream.receive_some(100) == b""
        for stream in streams:
            await stream.aclose()


async def test_an_idle_session_expires_and_then_answers_404() -> None:
    async with served(idle_timeout=0.5) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        with trio.fail_after(srv.patience):
            # Each use restarts the idle clock (the server notes the end of a request just after its
            # last byte), so wait a full timeout after every use until one finds the session gone.
            while (await srv.tools_list(http, alice)).status_code == 200:
                await trio.sleep(0.5)
        assert (await srv.tools_list(http, alice)).status_code == 404
        fresh = await srv.open_session(http)
        assert (await srv.tools_list(http, fresh)).status_code == 200


async def test_a_slow_body_to_a_path_of_the_auth_layer_gets_408_too() -> None:
    hook = AuthHook(authenticate=two_users, challenge=b"Bearer", serves=lambda path: path == "/token")
    async with served(auth=hook, body_timeout=0.5) as srv:
        head = b"POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\ngrant_type="
        assert (await srv.raw(head)).startswith(b"HTTP/1.1 408")


async def test_a_large_head_sent_whole_gets_431_and_both_framings_get_400_and_a_close() -> None:
    """h11 bounds only heads that arrive in pieces; one written in a single send is checked too.
    A request with Content-Length and Transfer-Encoding is answered once and the connection closed,
    so nothing smuggled behind it is served (RFC 9112 §6.1)."""
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        big = b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 40_000 + b"\r\n\r\n"
        assert (await srv.raw(big)).startswith(b"HTTP/1.1 431")
        smuggle = (
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer token-alice\r\n"
            b"Content-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"0\r\n\r\nGET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        )
        answer = await srv.raw(smuggle)
        assert answer.startswith(b"HTTP/1.1 400") and answer.count(b"HTTP/1.1 ") == 1, answer[:300]
        alice = await srv.open_session(http)
        assert (await srv.tools_list(http, alice)).status_code == 200
