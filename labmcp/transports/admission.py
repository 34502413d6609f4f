"""Admission of one incoming JSON-RPC message, the same for stdio and Streamable HTTP (pure, no I/O).

A message is admitted only if it is at most ``max_bytes`` long, valid UTF-8, JSON whose nesting is
at most ``MAX_DEPTH`` deep, a single object (no batch), and free of what would break a later layer:
lone UTF-16 surrogates (``"\\ud800"`` decodes to a string no UTF-8 writer can encode), numbers outside
the signed 64-bit range or beyond a float's range, ``NaN``/``Infinity`` (not JSON, but refused like
a number out of range so the id is kept), and duplicate keys (two readers could see two different
messages). Anything else gets a refusal: the JSON-RPC error to answer that one message with.

Codes (JSON-RPC 2.0 §5.1): -32700 when the bytes are not one JSON text we can read (too long, not
UTF-8, syntax); -32602 when the envelope is fine but ``params`` holds the fault; -32600 for a fault
anywhere else (the envelope, or nesting too deep outside ``params``). The request id is answered
whenever it can be read unambiguously, even from a message too deep to parse: a bounded scanner
finds it (and the depth) without recursion, before ``json`` ever sees the text. Refusal messages
never echo the input.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import mcp_types as types

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects admitted; MCP messages need fewer than ten levels."""

INT_LIMIT = 2**63
"""Integers must lie in [-2**63, 2**63): what every JSON-RPC peer can hold in a 64-bit integer."""

RequestId = str | int

# A JSON string (unrolled loop: fast on long strings, no backtracking), optionally a key, or a bracket.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"(\s*:)?|[\[\]{}]', re.DOTALL)
_ID_VALUE = re.compile(r'\s*("[^"\\]*(?:\\.[^"\\]*)*"|-?(?:0|[1-9]\d{0,18}))\s*[,}]', re.DOTALL)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class Refusal:
    """The JSON-RPC error answering a refused message; ``request_id`` None when it cannot be read."""

    code: int
    message: str
    request_id: RequestId | None = None

    def body(self) -> bytes:
        """The error response as compact JSON bytes (no newline)."""
        return error_body(self.code, self.message, self.request_id)


@dataclass(frozen=True, slots=True)
class Admitted:
    """A message that passed admission: the decoded object and its id (None for notifications)."""

    message: dict[str, Any]
    request_id: RequestId | None


def error_body(code: int, message: str, request_id: RequestId | None) -> bytes:
    """A JSON-RPC error response as compact JSON bytes."""
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return json.dumps(body, separators=(",", ":")).encode()


class _Huge:
    """Stands in for a number that is out of range, so the walk can say where it was."""


_HUGE = _Huge()


def _parse_int(token: str) -> int | _Huge:
    if len(token.lstrip("-")) > 19:
        return _HUGE
    value = int(token)
    return value if -INT_LIMIT <= value < INT_LIMIT else _HUGE


def _parse_float(token: str) -> float | _Huge:
    value = float(token)
    return value if math.isfinite(value) else _HUGE


def _parse_constant(token: str) -> _Huge:
    # NaN and Infinity are not JSON, but common writers emit them for a float; refusing them like an
    # out-of-range number keeps the request's id and says where the fault is.
    return _HUGE


def _valid_id(value: object) -> RequestId | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and -INT_LIMIT <= value < INT_LIMIT:
        return value
    if isinstance(value, str) and not _LONE_SURROGATE.search(value):
        return value
    return None


@dataclass(slots=True)
class _Scan:
    depth: int = 0
    too_deep_under: str | None = None
    """The top-level key under which nesting first went past MAX_DEPTH ("" at the top level)."""
    request_id: RequestId | None = None
    ids_seen: int = 0


def _scan(text: str) -> _Scan:
    """Depth and the top-level id in one pass over strings and brackets; O(tokens), no recursion."""
    scan = _Scan()
    key = ""
    for match in _TOKEN.finditer(text):
        token = match.group()
        first = token[0]
        if first in "[{":
            scan.depth += 1
            if scan.depth > MAX_DEPTH and scan.too_deep_under is None:
                scan.too_deep_under = key
        elif first in "]}":
            scan.depth -= 1
        elif match.group(1) is not None and scan.depth == 1:
            try:
                key = json.loads(token[: match.start(1) - match.start()])
            except ValueError:
                key = ""
            if key == "id":
                scan.ids_seen += 1
                value = _ID_VALUE.match(text, match.end())
                if value is not None:
                    try:
                        scan.request_id = _valid_id(json.loads(value.group(1)))
                    except ValueError:
                        scan.request_id = None
    if scan.ids_seen != 1:
        scan.request_id = None
    return scan


def _fault(value: object, duplicated: set[int]) -> str | None:
    """What is wrong inside ``value`` (iterative walk), or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Huge):
            return "a number out of range (or NaN/Infinity)"
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return "a lone UTF-16 surrogate"
        elif isinstance(item, dict):
            if id(item) in duplicated:
                return "a duplicate key"
            for key, inner in item.items():
                if _LONE_SURROGATE.search(key):
                    return "a lone UTF-16 surrogate in a key"
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(item)
    return None


def admit(data: bytes, max_bytes: int) -> Admitted | Refusal:
    """Admit one message (a stdio line or an HTTP body) or say how to refuse it."""
    if len(data) > max_bytes:
        return Refusal(types.PARSE_ERROR, f"Parse error: message longer than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Refusal(types.PARSE_ERROR, f"Parse error: invalid UTF-8 at byte {exc.start}")
    # Nesting cannot pass MAX_DEPTH with no more brackets than that in the whole text (brackets inside
    # strings only over-count), so the scan runs only when it could find something: it is most of
    # admission's cost for an ordinary request, and the parser's backstop below rescans for the id.
    scan = _scan(text) if text.count("[") + text.count("{") > MAX_DEPTH else _Scan()
    if scan.too_deep_under is not None:
        deep = f"nested deeper than {MAX_DEPTH} levels"
        if scan.too_deep_under == "params":
            return Refusal(types.INVALID_PARAMS, f"Invalid params: {deep}", scan.request_id)
        return Refusal(types.INVALID_REQUEST, f"Invalid Request: {deep}", scan.request_id)
    duplicated: set[int] = set()

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            duplicated.add(id(out))
        return out

    try:
        raw = json.loads(
            text,
            object_pairs_hook=pairs,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        return Refusal(types.PARSE_ERROR, f"Parse error: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except (ValueError, RecursionError):
        # A backstop: NaN/Infinity come back from the hooks as out-of-range numbers, and nesting past
        # the scan's limit never reaches the parser. The scanner's id is still the message's id.
        return Refusal(types.PARSE_ERROR, "Parse error: not a JSON text", _scan(text).request_id)
    if not isinstance(raw, dict):
        return Refusal(types.INVALID_REQUEST, "Invalid Request: a message must be one JSON object (no batches)")
    request_id = None if id(raw) in duplicated else _valid_id(raw.get("id"))
    if id(raw) in duplicated:
        return Refusal(types.INVALID_REQUEST, "Invalid Request: a duplicate key in the message")
    for key, value in raw.items():
        problem = _fault(key, duplicated) or _fault(value, duplicated)
        if problem is not None:
            if key == "params":
                return Refusal(types.INVALID_PARAMS, f"Invalid params: {problem}", request_id)
            return Refusal(types.INVALID_REQUEST, f"Invalid Request: {problem}", request_id)
    return Admitted(raw, request_id)
