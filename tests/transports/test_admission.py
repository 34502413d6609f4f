"""Admission of one message (shared by stdio and HTTP): every kind of hostile input is refused with the
right JSON-RPC code and, where it can be read, the request id; what is admitted can be written back.

The oracle for "can be written back" is the standard library's strict UTF-8 encoder, not our code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labmcp.transports.admission import MAX_DEPTH, Admitted, Refusal, admit
from tests.adversarial.kinds import (
    TEMPLATES,
    deep_nesting,
    duplicate_keys,
    huge_numbers,
    lone_surrogates,
)

LIMIT = 1 << 20


def _refusal(data: bytes) -> Refusal:
    item = admit(data, LIMIT)
    assert isinstance(item, Refusal), data[:200]
    return item


def test_a_plain_request_is_admitted_with_its_id() -> None:
    item = admit(b'{"jsonrpc":"2.0","id":"a","method":"ping"}', LIMIT)
    assert isinstance(item, Admitted) and item.request_id == "a"


def test_a_surrogate_pair_is_one_character_and_admitted() -> None:
    item = admit(b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"q":"\\ud83d\\ude00"}}', LIMIT)
    assert isinstance(item, Admitted) and item.message["params"]["q"] == "\U0001f600"


def test_five_thousand_open_brackets_are_refused_without_recursion() -> None:
    assert _refusal(b"[" * 5000).code == -32600
    assert _refusal(b"{" * 100_000).code in (-32600, -32700)


def test_nesting_up_to_the_limit_is_admitted() -> None:
    inner = "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    item = admit(f'{{"jsonrpc":"2.0","id":1,"method":"x","params":{{"a":{inner}}}}}'.encode(), LIMIT)
    assert isinstance(item, Admitted)


def test_brackets_inside_strings_count_for_nothing_but_nesting_past_the_limit_still_does() -> None:
    """Past MAX_DEPTH brackets in all, the depth scan runs; it must tell strings from nesting."""
    text = "[{" * MAX_DEPTH
    item = admit(f'{{"jsonrpc":"2.0","id":7,"method":"x","params":{{"q":"{text}"}}}}'.encode(), LIMIT)
    assert isinstance(item, Admitted) and item.message["params"]["q"] == text
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    refusal = _refusal(f'{{"jsonrpc":"2.0","id":8,"method":"x","params":{{"a":{deep}}}}}'.encode())
    assert refusal.code == -32602 and refusal.request_id == 8


def test_too_long_and_not_utf8_are_parse_errors_with_id_null() -> None:
    assert _refusal(b'{"id":1}' + b" " * LIMIT) == Refusal(-32700, f"Parse error: message longer than {LIMIT} bytes")
    refusal = _refusal(b'{"jsonrpc":"2.0","id":1,"method":"\xc3\x28"}')
    assert refusal.code == -32700 and refusal.request_id is None


def test_batches_and_scalars_are_invalid_requests() -> None:
    for text in (b"[]", b'[{"jsonrpc":"2.0","id":1,"method":"ping"}]', b"1", b'"x"', b"null"):
        assert _refusal(text).code == -32600


def test_nan_and_infinity_are_refused_like_numbers_out_of_range_keeping_the_id() -> None:
    refusal = _refusal(b'{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":NaN}}')
    assert (refusal.code, refusal.request_id) == (-32602, 1)
    refusal = _refusal(b'{"jsonrpc":"2.0","id":"i","method":"x","params":[-Infinity]}')
    assert (refusal.code, refusal.request_id) == (-32602, "i")
    assert _refusal(b'{"jsonrpc":"2.0","id":Infinity,"method":"x"}') == Refusal(
        -32600, "Invalid Request: a number out of range (or NaN/Infinity)"
    )


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_answer_the_request_id(constant: bytes) -> None:
    """The id is readable, so the refusal names it (a client waiting on it must hear back)."""
    assert _refusal(b'{"jsonrpc":"2.0","id":"a","method":"x","params":{"b":' + constant + b"}}").request_id == "a"
    assert _refusal(b'{"jsonrpc":"2.0","id":7,"method":"x","params":[' + constant + b"]}").request_id == 7


@pytest.mark.parametrize("kind", [deep_nesting, lone_surrogates, huge_numbers, duplicate_keys])
def test_every_generated_case_of_each_kind_is_refused_with_the_code_for_its_position(kind: Any) -> None:
    cases = [case for template in TEMPLATES for case in kind(template)]
    assert len(cases) > 20
    for case in cases:
        refusal = _refusal(case.line)
        assert refusal.code == case.code, (case.where, refusal)
        assert refusal.request_id == case.request_id, (case.where, refusal)


@given(st.binary(max_size=300) | st.text(max_size=300).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_admission_never_raises_and_what_it_admits_encodes_as_utf8(data: bytes) -> None:
    item = admit(data, LIMIT)
    if isinstance(item, Admitted):
        json.dumps(item.message, ensure_ascii=False, allow_nan=False).encode("utf-8")
    else:
        json.loads(item.body())
