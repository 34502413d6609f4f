"""Hostile MCP input: hypothesis-generated JSON-RPC messages and raw bytes against ONE long-lived
server process on stdio and one on Streamable HTTP. Every request with an id gets exactly one answer
with that id, nothing crashes, and afterwards the same process still answers a normal tool call."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import trio
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from labmcp.config import HTTPSettings
from labmcp.fake import FakeLabArchives
from tests.adversarial.support import (
    CANARY_BEARER,
    StdioPeer,
    adversarial_env,
    http_patience,
    http_server,
    leaked_secrets,
    mcp_session,
    rpc_messages,
)

pytestmark = pytest.mark.slow

MAX_MESSAGE_BYTES = HTTPSettings().max_body_bytes
"""The default message limit (LABMCP_MAX_BODY_BYTES), for stdio lines as for HTTP bodies."""
STDIO_INPUTS = 8_000
HTTP_INPUTS = 2_000
CHUNK = 250

METHODS = (
    "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read",
    "resources/templates/list", "resources/subscribe", "prompts/list", "prompts/get", "completion/complete",
    "logging/setLevel", "sampling/createMessage", "notifications/initialized", "notifications/cancelled",
)  # fmt: skip
TOOLS = ("list_notebooks", "browse_notebook", "read_page", "search", "search_attachments", "get_attachment")
ARGS = (
    "notebook_id",
    "page_id",
    "folder_id",
    "entry_id",
    "query",
    "depth",
    "limit",
    "page",
    "start_index",
    "max_chars",
    "pages",
    "terms",
    "extension",
    "begin_date",
    "end_date",
)
PROMPTS = ("summarize_page", "trace_experiment", "compare_pages")
ABSURD_INTS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([-1, 0, 2**31, 2**63, -(2**63), 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
)
MALICIOUS_URIS = st.one_of(
    st.sampled_from(
        [
            "file:///etc/passwd",
            "labarchives://notebooks/../../etc/passwd",
            "labarchives://notebooks/%2E%2E/%2E%2E/etc/passwd",
            "labarchives://notebooks/x/pages/..%2F..%2Fy",
            "labarchives://notebooks/%252E%252E%252Fsecret",
            "labarchives://notebooks/a%00b/pages/c",
            "labarchives://notebooks/%ff%fe/pages/%c0%af",
            "LABARCHIVES://NOTEBOOKS",
            "labarchives://notebooks?x=1#frag",
            "labarchives://notebooks/" + "A" * 100_000,
            "labarchives://notebooks/" + "%25" * 2000,
            "http://169.254.169.254/latest/meta-data/",
            "labarchives://user:pass@notebooks/x",
            "",
        ]
    ),
    st.text(max_size=64).map(lambda t: "labarchives://notebooks/" + quote(t, safe="/%")),
    st.text(max_size=64),
)
WEIRD_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "\x00", "../../", "%2F%2E%2E", "' OR 1=1 --", "<!ENTITY x SYSTEM 'file:///'>", "é" * 600]
    ),
    st.integers(min_value=501, max_value=5000).map(lambda n: "\u202e" * n),
)
JSON = st.recursive(
    st.none() | st.booleans() | ABSURD_INTS | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=6,
)
TOOL_ARGS = st.dictionaries(st.sampled_from(ARGS) | st.text(max_size=8), JSON | WEIRD_TEXT | ABSURD_INTS, max_size=5)
PARAMS = st.one_of(
    st.fixed_dictionaries({"name": st.sampled_from(TOOLS) | st.text(max_size=10), "arguments": TOOL_ARGS | JSON}),
    st.fixed_dictionaries({"uri": MALICIOUS_URIS}),
    st.fixed_dictionaries({"name": st.sampled_from(PROMPTS), "arguments": st.dictionaries(st.text(max_size=10), JSON)}),
    st.fixed_dictionaries(
        {
            "ref": st.fixed_dictionaries(
                {"type": st.sampled_from(["ref/resource", "ref/prompt", "x"]), "uri": MALICIOUS_URIS}
            ),
            "argument": st.fixed_dictionaries({"name": st.sampled_from(ARGS), "value": WEIRD_TEXT | JSON}),
        }
    ),
    st.dictionaries(st.text(max_size=10), JSON, max_size=4),
    JSON,
)
REQUEST = st.tuples(st.sampled_from(METHODS) | st.text(max_size=30), PARAMS, st.booleans())
RAW = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    JSON.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"\xff\xfe\xfd", b'{"jsonrpc":"2.0","id":1,"method":"\xc3\x28"}', b"[]", b"[{}]", b"{", b"null"]),
    st.dictionaries(st.sampled_from(["jsonrpc", "id", "method", "params", "result", "error"]), JSON, max_size=5).map(
        lambda d: json.dumps(d).encode()
    ),
)
# Three requests (which must each get one answer) for every raw line.
INPUT = st.integers(min_value=0, max_value=3).flatmap(
    lambda k: RAW.map(lambda r: ("raw", r)) if k == 0 else REQUEST.map(lambda r: ("request", r))
)


def generate(count: int, strategy: st.SearchStrategy[Any], chunk: int) -> list[Any]:
    """``count`` inputs from hypothesis with a fixed seed per chunk, so every CI run sends the same ones."""
    out: list[Any] = []

    @seed(0x7F3A + chunk)
    @settings(
        max_examples=count, deadline=None, database=None, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


async def produce(total: int, send: trio.MemorySendChannel[list[Any]]) -> None:
    """Generate in a worker thread, chunk by chunk, while the server chews on the previous chunk."""
    async with send:
        for chunk in range(total // CHUNK):
            await send.send(await trio.to_thread.run_sync(generate, CHUNK, INPUT, chunk))


def encode(index: int, item: tuple[str, Any]) -> tuple[bytes, Any]:
    """One input as a line (no newline inside) and the id whose answer it must get (None: no id)."""
    kind, value = item
    if kind == "raw":
        return value.replace(b"\n", b" ").replace(b"\r", b" "), None
    method, params, string_id = value
    request_id: Any = f"fz-{index}" if string_id else 1_000_000 + index
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return json.dumps(message).encode(), request_id


async def test_stdio_survives_ten_thousand_hostile_lines(
    cfake: FakeLabArchives, log_file: Path, figures: dict[str, Any]
) -> None:
    """8,000 generated inputs plus oversized, invalid-UTF-8 and huge-argument lines on one stdio session:
    each request id answered exactly once, garbage answered with id null, a normal call works after.

    The work is bounded (a fixed number of inputs), never the wall clock: the peer fails only when no
    answer at all arrives for 100 times the slowest of five normal calls measured at the start."""
    env = adversarial_env(cfake, log_file, LABARCHIVES_LOG_LEVEL="INFO")
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "labmcp"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    peer = StdioPeer(process)
    sent = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(peer.read)
        init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "fuzz", "version": "1"}}
        await peer.call("init", "initialize", init)
        await peer.send(b'{"jsonrpc":"2.0","method":"notifications/initialized"}\n')
        baseline = await peer.measure()
        expected: list[Any] = []
        send_chunks, chunks = trio.open_memory_channel[list[Any]](2)
        nursery.start_soon(produce, STDIO_INPUTS, send_chunks)
        async for inputs in chunks:
            batch = [encode(sent + i, item) for i, item in enumerate(inputs)]
            await peer.send(b"".join(line + b"\n" for line, _ in batch))
            ids = [request_id for _, request_id in batch if request_id is not None]
            expected += ids
            sent += len(batch)
            await peer.wait_for(ids)
        # The edges: lines over the message limit (one of them a whole request), invalid UTF-8, a large
        # request just under the limit, unknown methods.
        nulls = peer.null_errors
        await peer.send(b"x" * (MAX_MESSAGE_BYTES + 10) + b"\n")
        too_big = {"name": "search", "arguments": {"query": "q" * 5_000_000}}
        await peer.send(
            json.dumps({"jsonrpc": "2.0", "id": "too-big", "method": "tools/call", "params": too_big}).encode() + b"\n"
        )
        await peer.send(b'{"jsonrpc":"2.0","id":"utf","method":"ping\xff\xfe"}\n')
        sent += 3
        large = {"name": "search", "arguments": {"query": "q" * (MAX_MESSAGE_BYTES - 200)}}
        for request_id, method, params in (
            ("large", "tools/call", large),
            ("unknown", "no/such/method", {}),
            ("unknown-tool", "tools/call", {"name": "rm_rf", "arguments": {}}),
        ):
            await peer.call(request_id, method, params)
            expected.append(request_id)
            sent += 1
        await peer.until(lambda: peer.null_errors >= nulls + 3)
        answered = peer.answers.copy()
        await peer.call("final", "tools/call", {"name": "list_notebooks", "arguments": {}})
        nursery.cancel_scope.cancel()
    assert sent >= STDIO_INPUTS
    assert process.returncode is None, "the server died"
    assert peer.answers["final"] == 1 and peer.answers["too-big"] == 0
    duplicates = [i for i in expected if answered[i] != 1]
    assert not duplicates, f"ids not answered exactly once: {duplicates[:10]}"
    assert not peer.secrets
    process.kill()
    await process.wait()
    figures["fuzz_stdio"] = {
        "inputs": sent,
        "requests_with_id": len(expected),
        "answered_exactly_once": len(expected) - len(duplicates),
        "parse_or_invalid_errors_id_null": peer.null_errors,
        "baseline_call_seconds": round(baseline, 4),
        "process_alive_after": True,
    }


async def test_http_transport_survives_two_thousand_hostile_bodies(
    cfake: FakeLabArchives, log_file: Path, tmp_path: Path, figures: dict[str, Any]
) -> None:
    """2,000 generated POST bodies to /mcp with a valid token and session: never a 5xx, every request
    with an id answered once with that id, and the server keeps serving MCP and /health/live."""
    statuses: Counter[int] = Counter()
    wrong: list[str] = []
    env = adversarial_env(cfake, log_file, LABARCHIVES_LOG_LEVEL="INFO")
    async with http_server(env, tmp_path / "stderr.txt") as server, httpx.AsyncClient(timeout=None) as http:
        headers = await mcp_session(http, server.url)
        # No total budget: each request may take 100 times the slowest of five normal calls measured now.
        http.timeout = httpx.Timeout(await http_patience(http, server.url, headers))
        send, receive = trio.open_memory_channel[tuple[int, tuple[str, Any]]](CHUNK)
        sent = 0

        async def feed() -> None:
            nonlocal sent
            send_chunks, chunks = trio.open_memory_channel[list[Any]](2)
            async with trio.open_nursery() as inner, send:
                inner.start_soon(produce, HTTP_INPUTS, send_chunks)
                async for inputs in chunks:
                    for item in inputs:
                        await send.send((sent, item))
                        sent += 1

        async def worker() -> None:
            async for index, item in receive:
                body, request_id = encode(index, item)
                answer = await http.post(server.url, headers=headers, content=body)
                statuses[answer.status_code] += 1
                if answer.status_code >= 500:
                    wrong.append(f"{answer.status_code} for {body[:100]!r}")
                    continue
                wrong.extend(leaked_secrets(answer.text))
                if request_id is not None and answer.status_code == 200:
                    ids = [m.get("id") for m in rpc_messages(answer) if "id" in m]
                    if ids != [request_id]:
                        wrong.append(f"ids {ids} for {request_id}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(feed)
            for _ in range(8):
                nursery.start_soon(worker)
        final = {
            "jsonrpc": "2.0",
            "id": "final",
            "method": "tools/call",
            "params": {"name": "list_notebooks", "arguments": {}},
        }
        answer = await http.post(server.url, headers=headers, content=json.dumps(final))
        assert answer.status_code == 200
        assert rpc_messages(answer)[0]["result"]["structuredContent"]["notebooks"]
        assert (await server.get("/health/live")).status_code == 200
        unauthorized = await http.post(server.url, headers={**headers, "Authorization": "Bearer nope"}, content=b"{}")
        assert unauthorized.status_code == 401 and CANARY_BEARER not in unauthorized.text
        assert server.process.returncode is None
    assert not wrong, wrong[:10]
    assert sent >= HTTP_INPUTS
    figures["fuzz_http"] = {"inputs": sent, "statuses": {str(k): v for k, v in sorted(statuses.items())}}
