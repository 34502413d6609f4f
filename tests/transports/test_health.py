"""The health/metrics listener over real sockets on 127.0.0.1: routes, readiness, and hostile clients."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

import httpx
import pytest
import trio
import trio.testing

from labmcp.transports.health import MAX_HEADER_BYTES, Readiness, respond, serve_health
from labmcp.transports.metrics import Metrics, ProcessStats
from tests.transports.test_metrics import parse

HOST = "127.0.0.1"


@dataclass
class Server:
    port: int
    readiness: Readiness
    metrics: Metrics
    info: dict[str, object]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


Start = Callable[..., Awaitable[Server]]


@pytest.fixture
def start(nursery: trio.Nursery) -> Start:
    """Start a listener on a free port in the test's nursery; keyword arguments go to serve_health."""

    async def _start(**kwargs: object) -> Server:
        readiness = Readiness()
        metrics = Metrics("0.1.0", lambda: readiness.ready, process=lambda: ProcessStats(cpu_seconds=1.0))
        info: dict[str, object] = {"version": "0.1.0", "transport": "http", "uptime_seconds": 12.5}
        info_fn = kwargs.pop("info", lambda: dict(info))
        serve = partial(serve_health, HOST, 0, metrics=metrics, readiness=readiness, info=info_fn, **kwargs)
        port = await nursery.start(serve)
        return Server(port, readiness, metrics, info)

    return _start


async def get(server: Server, path: str, method: str = "GET") -> httpx.Response:
    with trio.fail_after(5):
        async with httpx.AsyncClient(base_url=server.url) as client:
            return await client.request(method, path)


async def read_until_closed(stream: trio.SocketStream) -> bytes:
    """Everything the server sends until it closes; a reset after its response counts as closed."""
    data = b""
    while True:
        try:
            chunk = await stream.receive_some(65536)
        except trio.BrokenResourceError:
            return data
        if not chunk:
            return data
        data += chunk


async def raw(server: Server, payload: bytes) -> bytes:
    with trio.fail_after(5):
        stream = await trio.open_tcp_stream(HOST, server.port)
        async with stream:
            await stream.send_all(payload)
            return await read_until_closed(stream)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


# --- readiness (pure) ---------------------------------------------------------------------------


def test_readiness_is_ready_until_a_condition_fails_and_names_the_reason() -> None:
    readiness = Readiness()
    assert readiness.ready and readiness.reasons == []
    readiness.set("labarchives", False, "authentication failed (code 4506)")
    readiness.set("scope", True)
    assert not readiness.ready
    assert readiness.reasons == ["labarchives: authentication failed (code 4506)"]
    readiness.set("labarchives", True)
    assert readiness.ready


def test_readiness_reason_defaults_to_the_condition_name() -> None:
    readiness = Readiness()
    readiness.set("startup", False)
    assert readiness.reasons == ["startup"]


def test_shutting_down_makes_ready_false_and_is_the_first_reason() -> None:
    readiness = Readiness()
    readiness.set("labarchives", False, "timeout")
    readiness.shutting_down()
    assert not readiness.ready
    assert readiness.reasons == ["shutting down", "labarchives: timeout"]
    readiness.set("labarchives", True)
    assert not readiness.ready and readiness.reasons == ["shutting down"]


def test_notes_are_warnings_that_never_withdraw_readiness() -> None:
    readiness = Readiness()
    readiness.set("startup", True)
    readiness.note("labarchives", False, "LabArchives unavailable: timeout")
    assert readiness.ready and readiness.reasons == []
    assert readiness.warnings == ["labarchives: LabArchives unavailable: timeout"]
    readiness.note("labarchives", True)
    assert readiness.warnings == []


def test_respond_checks_the_path_before_the_method() -> None:
    metrics = Metrics("0.1.0", lambda: True)
    answer = partial(respond, metrics=metrics, readiness=Readiness(), info=dict)
    assert answer(b"POST", b"/nope").status == 404
    assert answer(b"POST", b"/metrics").status == 405
    assert answer(b"GET", b"/health/live?probe=1").status == 200
    assert answer(b"GET", b"/health/live/").status == 404


# --- routes over a real socket ------------------------------------------------------------------


async def test_live_answers_alive(start: Start) -> None:
    server = await start()
    response = await get(server, "/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"


async def test_ready_is_200_then_503_with_reasons(start: Start) -> None:
    server = await start()
    response = await get(server, "/health/ready")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    server.readiness.set("labarchives", False, "HTTP 503 from the API")
    response = await get(server, "/health/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "not ready", "reasons": ["labarchives: HTTP 503 from the API"]}


async def test_ready_stays_200_with_a_warning_while_a_dependency_is_down(start: Start) -> None:
    server = await start()
    server.readiness.note("labarchives", False, "LabArchives unavailable: timeout")
    response = await get(server, "/health/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "warnings": ["labarchives: LabArchives unavailable: timeout"]}
    server.readiness.set("startup", False, "starting")
    response = await get(server, "/health/ready")
    assert response.status_code == 503
    assert response.json()["warnings"] == ["labarchives: LabArchives unavailable: timeout"]
    assert (await get(server, "/health")).json()["warnings"] == ["labarchives: LabArchives unavailable: timeout"]


async def test_shutting_down_flips_ready_to_503_while_live_stays_200(start: Start) -> None:
    server = await start()
    server.readiness.shutting_down()
    response = await get(server, "/health/ready")
    assert response.status_code == 503
    assert response.json()["reasons"] == ["shutting down"]
    assert (await get(server, "/health/live")).status_code == 200


async def test_health_summary_merges_info_with_readiness(start: Start) -> None:
    server = await start()
    server.readiness.set("scope", False, "notebook not found")
    response = await get(server, "/health")
    assert response.status_code == 200
    assert response.json() == {
        "version": "0.1.0",
        "transport": "http",
        "uptime_seconds": 12.5,
        "ready": False,
        "reasons": ["scope: notebook not found"],
    }


async def test_metrics_serves_the_registry_as_text_format_0_0_4(start: Start) -> None:
    server = await start()
    server.metrics.cache("node", True)
    server.readiness.set("labarchives", False)
    response = await get(server, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    exposition = parse(response.text)
    assert exposition.value("labmcp_cache_lookups_total", kind="node", result="hit") == 1
    assert exposition.value("labmcp_ready") == 0


async def test_head_sends_the_get_headers_without_a_body(start: Start) -> None:
    server = await start()
    response = await get(server, "/health/live", "HEAD")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(json.dumps({"status": "alive"})))
    assert response.content == b""
    raw_head = await raw(server, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert raw_head.endswith(b"\r\n\r\n"), "a HEAD response must carry no body"


async def test_other_methods_get_405_with_allow(start: Start) -> None:
    server = await start()
    response = await get(server, "/health/live", "POST")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"


async def test_unknown_paths_get_404_json(start: Start) -> None:
    server = await start()
    response = await get(server, "/admin")
    assert (response.status_code, response.json()) == (404, {"status": "not found"})


async def test_keep_alive_serves_several_requests_on_one_connection(start: Start) -> None:
    server = await start()
    request = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
    answer = await raw(server, request + request + request.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert answer.count(b"HTTP/1.1 200 OK") == 3


async def test_a_failing_route_answers_500_and_the_listener_survives(start: Start) -> None:
    def broken_info() -> dict[str, object]:
        raise RuntimeError("boom")

    server = await start(info=broken_info)
    assert (await get(server, "/health")).status_code == 500
    assert (await get(server, "/health/live")).status_code == 200


# --- hostile clients ----------------------------------------------------------------------------


async def test_garbage_gets_400_and_close_and_the_listener_still_serves(start: Start) -> None:
    server = await start()
    answer = await raw(server, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n")
    assert status_of(answer) == 400
    assert b"connection: close" in answer.lower()
    assert (await get(server, "/health/live")).status_code == 200


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 100, 4 * MAX_HEADER_BYTES])
async def test_oversized_headers_get_431(start: Start, size: int) -> None:
    """Both a head that arrives whole and one too long for h11's incomplete-event buffer are refused."""
    server = await start()
    huge = b"X-Filler: " + b"a" * size + b"\r\n"
    answer = await raw(server, b"GET /health/live HTTP/1.1\r\nHost: x\r\n" + huge + b"\r\n")
    assert status_of(answer) == 431
    assert (await get(server, "/health/live")).status_code == 200


async def test_a_large_body_on_get_gets_413(start: Start) -> None:
    server = await start()
    body = b"x" * 100_000
    head = b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
    answer = await raw(server, head + body)
    assert status_of(answer) == 413


async def test_a_small_body_on_get_is_ignored(start: Start) -> None:
    server = await start()
    answer = await raw(
        server, b"GET /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    )
    assert status_of(answer) == 200


async def test_a_slow_loris_is_cut_at_the_total_request_deadline(start: Start) -> None:
    """Each header line arrives well within the deadline, yet the whole request may not take longer."""
    server = await start(request_timeout=0.5)
    with trio.fail_after(5):
        stream = await trio.open_tcp_stream(HOST, server.port)
        await stream.send_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        lines = 0
        with trio.move_on_after(3) as budget:
            try:
                while True:
                    await stream.send_all(b"X-Slow-%d: y\r\n" % lines)
                    lines += 1
                    await trio.testing.wait_all_tasks_blocked(cushion=0.02)
            except trio.BrokenResourceError:
                pass  # the server cut us: our next write met its reset
        assert not budget.cancelled_caught, "the server kept a trickling request open past its deadline"
        assert await read_until_closed(stream) == b""
        await stream.aclose()
    assert lines > 3, "the client must have trickled several lines before being cut"
    assert (await get(server, "/health/live")).status_code == 200


async def test_an_idle_connection_is_closed_after_the_deadline(start: Start) -> None:
    server = await start(request_timeout=0.3)
    with trio.fail_after(5):
        stream = await trio.open_tcp_stream(HOST, server.port)
        async with stream:
            assert await read_until_closed(stream) == b""


async def test_idle_connections_past_the_cap_evict_the_oldest(start: Start) -> None:
    server = await start(max_connections=2)
    with trio.fail_after(5):
        first = await trio.open_tcp_stream(HOST, server.port)
        second = await trio.open_tcp_stream(HOST, server.port)
        await trio.testing.wait_all_tasks_blocked()
        third = await trio.open_tcp_stream(HOST, server.port)
        assert await read_until_closed(first) == b""
        for stream in (first, second, third):
            await stream.aclose()


async def test_live_answers_while_100_idle_connections_are_open(start: Start) -> None:
    server = await start()
    idle: list[trio.SocketStream] = []
    try:
        with trio.fail_after(10):
            for _ in range(100):
                idle.append(await trio.open_tcp_stream(HOST, server.port))
            await trio.testing.wait_all_tasks_blocked()
            response = await get(server, "/health/live")
            assert response.status_code == 200
            assert await read_until_closed(idle[0]) == b"", "the oldest idle connection makes room"
    finally:
        for stream in idle:
            await stream.aclose()


async def test_clients_that_vanish_mid_request_do_not_take_the_listener_down(start: Start) -> None:
    server = await start()
    with trio.fail_after(5):
        for payload in (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /health HTTP/1.1\r\nHo", b""):
            for _ in range(10):
                stream = await trio.open_tcp_stream(HOST, server.port)
                await stream.send_all(payload)
                await trio.aclose_forcefully(stream)
        await trio.testing.wait_all_tasks_blocked()
    assert (await get(server, "/health/live")).status_code == 200
