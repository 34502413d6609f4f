"""Sans-IO parts of the stdio transport: framing and classification of raw lines."""

import json

from hypothesis import given
from hypothesis import strategies as st
from mcp.shared.message import SessionMessage

from labmcp.transports.stdio import LineSplitter, classify


def test_splitter_joins_chunks_and_skips_blank_lines() -> None:
    s = LineSplitter(100)
    assert s.feed(b'{"a":') == []
    assert s.feed(b"1}\r\n\n  \n{") == [b'{"a":1}']
    assert s.feed(b"}\n") == [b"{}"]


def test_splitter_reports_oversized_lines_once_and_recovers() -> None:
    s = LineSplitter(10)
    assert s.feed(b"x" * 25) == [None]
    assert s.feed(b"y" * 25) == []
    assert s.feed(b"z\n{}\n") == [b"{}"]
    assert s.feed(b"w" * 11 + b"\n{}\n") == [None, b"{}"]


@given(st.lists(st.binary(max_size=50), max_size=20))
def test_splitter_never_loses_short_lines(chunks: list[bytes]) -> None:
    data = b"".join(chunks)
    s = LineSplitter(1000)
    out = []
    for chunk in chunks:
        out += s.feed(chunk)
    expected = [line.rstrip(b"\r") for line in data.split(b"\n")[:-1] if line.strip()]
    assert out == expected


def _error(line: bytes) -> dict:
    item = classify(line, 1 << 20)
    assert isinstance(item, bytes)
    return json.loads(item)


def test_classify_answers_invalid_utf8_with_parse_error() -> None:
    assert _error(b"\xff\xfe")["error"]["code"] == -32700


def test_classify_answers_bad_json_with_parse_error() -> None:
    body = _error(b'{"jsonrpc": "2.0", "id": 1,')
    assert body["error"]["code"] == -32700 and body["id"] is None


def test_classify_answers_non_jsonrpc_with_invalid_request_keeping_the_id() -> None:
    body = _error(b'{"jsonrpc": "1.0", "id": 7, "method": 3}')
    assert body["error"]["code"] == -32600 and body["id"] == 7


def test_classify_accepts_a_request() -> None:
    item = classify(b'{"jsonrpc":"2.0","id":1,"method":"ping"}', 1 << 20)
    assert isinstance(item, SessionMessage)
