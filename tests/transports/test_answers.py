"""JSON or SSE per request (``labmcp.transports.answers``): judged on the wire by raw httpx and the
SDK's own client against the real app on a loopback socket, and pinned to the SDK's source.

MCP Streamable HTTP (2025-06-18, 2025-11-25 basic/transports, "Sending Messages to the Server"): the
server answers a POSTed request with ``application/json`` or ``text/event-stream``, its choice."""

from __future__ import annotations

import ast
import importlib.util
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from labmcp.errors import UpstreamError
from labmcp.labarchives.progress import step
from labmcp.notebook.service import NotebookService
from labmcp.transports.answers import needs_stream
from tests.transports.test_guard import INIT, served

PROTOCOL = {"MCP-Protocol-Version": "2025-06-18"}
STEP = "LabArchives: waiting for its turn"


def content_type(answer: httpx.Response | httpx2.Response) -> str:
    return answer.headers.get("content-type", "").split(";")[0].strip()


def call(request_id: int, token: str | int | None = None) -> bytes:
    params: dict[str, Any] = {"name": "list_notebooks", "arguments": {}}
    if token is not None:
        params["_meta"] = {"progressToken": token}
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}).encode()


async def one_step() -> NotebookService:
    """A service that reports one step of progress (the first is always sent), then fails."""
    await step(STEP)
    raise UpstreamError("no LabArchives in this test")


async def events(lines: AsyncIterator[str]) -> AsyncIterator[dict[str, Any]]:
    """The JSON-RPC messages of an SSE body (``data:`` lines), as they arrive."""
    async for line in lines:
        if line.startswith("data:") and line[5:].strip():
            yield json.loads(line[5:])


def sse_messages(answer: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(x[5:]) for x in answer.text.splitlines() if x.startswith("data:") and x[5:].strip()]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (None, False),
        ({"name": "x"}, False),
        ({"_meta": {}}, False),
        ({"_meta": {"progressToken": None}}, False),
        ({"_meta": {"progressToken": True}}, False),  # not a token: the SDK sends no progress for it
        ({"_meta": {"progressToken": "p"}}, True),
        ({"_meta": {"progressToken": 0}}, True),
    ],
)
def test_only_a_request_with_a_progress_token_needs_a_stream(params: dict[str, Any] | None, expected: bool) -> None:
    """MCP basic/utilities/progress: a token is a string or an integer in ``params._meta.progressToken``."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": "tools/call"}
    if params is not None:
        message["params"] = params
    assert needs_stream(message) is expected


async def test_initialize_and_plain_requests_are_answered_with_one_json_object() -> None:
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        init = await http.post(srv.url, headers=srv.headers(), content=json.dumps(INIT))
        assert init.status_code == 200 and content_type(init) == "application/json"
        assert init.headers["content-length"] == str(len(init.content))
        assert init.json()["result"]["protocolVersion"] == "2025-06-18"
        session = srv.headers(**{"Mcp-Session-Id": init.headers["mcp-session-id"]}, **PROTOCOL)
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(srv.url, headers=session, content=json.dumps(note))).status_code == 202
        for request_id, method in enumerate(("tools/list", "ping", "resources/templates/list"), start=1):
            body = {"jsonrpc": "2.0", "id": request_id, "method": method}
            answer = await http.post(srv.url, headers=session, content=json.dumps(body))
            assert answer.status_code == 200 and content_type(answer) == "application/json", method
            assert answer.json()["id"] == request_id and "result" in answer.json()


async def test_a_json_answer_leaves_in_one_write_head_and_body_together() -> None:
    """One write per JSON answer (``labmcp.transports.hyper``): the first read on a loopback socket
    holds the whole answer, head and body (sent as two writes, it usually holds the head alone)."""
    async with served() as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        head = "".join(f"{k}: {v}\r\n" for k, v in alice.items())
        for request_id in range(1, 6):
            body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "tools/list"}).encode()
            request = f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}Content-Length: {len(body)}\r\n\r\n"
            stream = await trio.open_tcp_stream("127.0.0.1", srv.port)
            async with stream:
                await stream.send_all(request.encode() + body)
                with trio.fail_after(srv.patience):
                    first = await stream.receive_some(1 << 20)
            answer_head, _, answer_body = first.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in answer_head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            assert len(answer_body) == length and json.loads(answer_body)["id"] == request_id


async def test_a_progress_request_streams_while_plain_requests_of_its_session_get_json() -> None:
    """The choice is per request, not per session: plain requests answered while an SSE one is open."""
    asked, release = trio.Event(), trio.Event()

    async def held() -> NotebookService:
        await step(STEP)
        asked.set()
        await release.wait()
        raise UpstreamError("released")

    async with served(held) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        alice = await srv.open_session(http)
        async with http.stream("POST", srv.url, headers=alice, content=call(7, "p7")) as streamed:
            assert streamed.status_code == 200 and content_type(streamed) == "text/event-stream"
            messages = events(streamed.aiter_lines())
            with trio.fail_after(srv.patience):
                first = await anext(messages)
            assert first["method"] == "notifications/progress"
            assert first["params"]["progressToken"] == "p7" and first["params"]["message"] == STEP
            assert asked.is_set()
            for request_id, method in ((8, "tools/list"), (9, "ping")):
                body = {"jsonrpc": "2.0", "id": request_id, "method": method}
                answer = await http.post(srv.url, headers=alice, content=json.dumps(body))
                assert content_type(answer) == "application/json" and answer.json()["id"] == request_id
            release.set()
            with trio.fail_after(srv.patience):
                last = await anext(messages)
            assert last["id"] == 7 and last["result"]["isError"] is True


async def test_stateless_mode_chooses_per_request_too() -> None:
    async with served(one_step, stateless=True) as srv, httpx.AsyncClient(timeout=srv.patience) as http:
        headers = srv.headers(**PROTOCOL)
        plain = await http.post(srv.url, headers=headers, content=call(1))
        assert content_type(plain) == "application/json" and plain.json()["result"]["isError"] is True
        asked = await http.post(srv.url, headers=headers, content=call(2, 42))
        assert content_type(asked) == "text/event-stream"
        progress, answer = sse_messages(asked)
        assert progress["method"] == "notifications/progress" and progress["params"]["progressToken"] == 42
        assert answer["id"] == 2 and answer["result"]["isError"] is True


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_the_sdk_client_gets_json_for_plain_calls_and_sse_with_progress_when_it_asks(mode: str) -> None:
    """``legacy``: the 2025 handshake, served by our transport; ``auto``: the SDK client's default, which
    negotiates the 2026 per-request protocol (the SDK's own path, which also answers JSON when it can)."""
    answers: list[tuple[bool, str]] = []

    async def record(response: httpx2.Response) -> None:
        if response.request.method == "POST":
            message = json.loads(response.request.content)
            if "id" in message:
                answers.append((needs_stream(message), content_type(response)))

    updates: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append(message)

    async with (
        served(one_step) as srv,
        httpx2.AsyncClient(headers={"Authorization": "Bearer token-alice"}, event_hooks={"response": [record]}) as http,
        Client(streamable_http_client(srv.url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        with trio.fail_after(srv.patience):
            assert (await client.call_tool("list_notebooks", {}, progress_callback=on_progress)).is_error
            assert (await client.call_tool("list_notebooks", {})).is_error
            assert "list_notebooks" in {tool.name for tool in (await client.list_tools()).tools}
    assert updates == [STEP]
    assert [kind for asked, kind in answers if asked] == ["text/event-stream"]
    plain = [kind for asked, kind in answers if not asked]
    assert len(plain) >= 3 and set(plain) == {"application/json"}, answers


def _tree(module: str) -> ast.Module:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    return ast.parse(Path(spec.origin).read_text(encoding="utf-8"))


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_the_sdk_session_manager_builds_every_transport_through_the_name_install_replaces() -> None:
    """``install`` rebinds ``StreamableHTTPServerTransport`` in the manager's module; that reaches every
    transport only while the manager calls the class by that bare module-level name."""
    tree = _tree("mcp.server.streamable_http_manager")
    builders = set()
    for function in _functions(tree):
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and "StreamableHTTPServerTransport" in ast.unparse(node.func):
                assert isinstance(node.func, ast.Name), f"{function.name} builds it as {ast.unparse(node.func)}"
                builders.add(function.name)
    assert builders == {"_admit_session", "_handle_stateless_request"}, builders
    calls = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert {"transport.handle_request", "http_transport.handle_request"} <= calls, "the entry it overrides"


def test_the_sdk_transport_reads_its_json_flag_where_a_per_request_choice_reaches() -> None:
    """Per request: the POST path reads the flag in the request's own task (where the context variable
    is set); the message router reads it in a task of its own (unset: SSE, so progress is delivered)."""
    tree = _tree("mcp.server.streamable_http")
    transport = next(
        n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "StreamableHTTPServerTransport"
    )
    readers: dict[str, list[str]] = {}
    for method in transport.body:
        if not isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for inner in _functions(method):
            for node in ast.walk(inner):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "is_json_response_enabled"
                    and isinstance(node.ctx, ast.Load)
                ):
                    readers.setdefault(method.name, []).append(inner.name)
    reading = {method: sorted(set(inners) - {method}) for method, inners in readers.items()}
    assert reading == {
        "_message_metadata": [],
        "_validate_accept_header": [],
        "_handle_post_request": [],
        "connect": ["message_router"],
    }, reading
    connect = next(m for m in transport.body if isinstance(m, ast.AsyncFunctionDef) and m.name == "connect")
    spawned = {
        ast.unparse(n.args[0])
        for n in ast.walk(connect)
        if isinstance(n, ast.Call) and ast.unparse(n.func).endswith("start_soon")
    }
    assert spawned == {"message_router"}, "the router must run in a task of its own"
