"""Generators of hostile messages, one per kind, each case with the answer JSON-RPC 2.0 prescribes.

Every kind is applied at every position of a few well-formed template messages (each value, each key,
each object), so a fix for one position cannot pass for the whole kind. The expected code is derived
from the position alone: a fault inside ``params`` is -32602 answered with the request's id; a fault
in the envelope is -32600, answered with the id unless the fault is in the id itself (or makes it
ambiguous: a duplicate key in the envelope). Texts are written by hand where ``json`` cannot write
them (huge numbers, duplicate keys, nesting past any limit).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

INVALID_REQUEST = -32600
INVALID_PARAMS = -32602
DEPTH_PAST_ANY_LIMIT = 5000
OVER_THE_LIMIT = 65 + 1  # MAX_DEPTH is 64: the smallest nesting that must be refused anywhere

_ids = itertools.count(1)

TEMPLATES: tuple[dict[str, Any], ...] = (
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "tools/call",
        "params": {"name": "search", "arguments": {"query": "buffer", "limit": 5, "tags": ["a", 1]}},
    },
    {
        "jsonrpc": "2.0",
        "id": "s",
        "method": "prompts/get",
        "params": {"name": "summarize_page", "arguments": {"notebook_id": "nb", "page_id": "p"}},
    },
    {"jsonrpc": "2.0", "id": 0, "method": "resources/read", "params": {"uri": "labarchives://notebooks"}},
    {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "completion/complete",
        "params": {
            "ref": {"type": "ref/prompt", "name": "summarize_page"},
            "argument": {"name": "notebook_id", "value": "n"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": "t", "progress": 1}},
)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Case:
    """One hostile line (no newline inside) and the error it must be answered with."""

    kind: str
    where: str
    line: bytes
    code: int
    request_id: str | int | None


def _with_fresh_id(template: dict[str, Any], kind: str) -> dict[str, Any]:
    message = json.loads(json.dumps(template))
    if "id" in message:
        message["id"] = f"{kind}-{next(_ids)}" if isinstance(message["id"], str) else 10_000_000 + next(_ids)
    return message


def _paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every position in ``value``: the root, each object member and each array element."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*prefix, index))


def _set(message: dict[str, Any], path: Path, value: Any) -> Any:
    if not path:
        return value
    target: Any = message
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return message


def _expect(message: dict[str, Any], path: Path, *, ambiguous_id: bool = False) -> tuple[int, str | int | None]:
    """The code and id a fault at ``path`` must be answered with (``()`` is the whole message)."""
    request_id = message.get("id") if isinstance(message, dict) else None
    if not path or path[0] == "id" or ambiguous_id:
        request_id = None
    if path and path[0] == "params":
        return INVALID_PARAMS, request_id
    return INVALID_REQUEST, request_id


def _case(kind: str, path: Path, line: str, message: dict[str, Any], *, key: bool = False, **flags: bool) -> Case:
    # A bad key of the envelope is an envelope fault, whichever member it names.
    code, request_id = _expect(message, ("<key>",) if key and len(path) == 1 else path, **flags)
    return Case(kind, "/".join(map(str, path)) or "(root)", line.encode("utf-8"), code, request_id)


def deep_nesting(template: dict[str, Any]) -> Iterator[Case]:
    """Arrays and objects nested past the limit, in place of every value (and of the whole message)."""
    for path in _paths(template):
        for depth, opener, closer in (
            (OVER_THE_LIMIT, "[", "]"),
            (OVER_THE_LIMIT, '{"k":', "}"),
            (DEPTH_PAST_ANY_LIMIT, "[", "]"),
        ):
            message = _with_fresh_id(template, "deep")
            marker = "__DEEP__"
            text = json.dumps(_set(message, path, marker))
            yield _case("deep", path, text.replace(f'"{marker}"', opener * depth + "1" + closer * depth), message)
    yield Case("deep", "unclosed", b"[" * DEPTH_PAST_ANY_LIMIT, INVALID_REQUEST, None)


SURROGATES = ("\ud800", "x\udbff", "\udc00y", "a\udfffb")


def lone_surrogates(template: dict[str, Any]) -> Iterator[Case]:
    """``\\uD8xx``/``\\uDCxx`` escapes without their partner, in every string value and every key."""
    for path in _paths(template):
        original = _get(template, path)
        for surrogate in SURROGATES:
            if isinstance(original, str):
                message = _with_fresh_id(template, "sur")
                text = json.dumps(_set(message, path, surrogate))  # ensure_ascii writes the \\udxxx escape
                yield _case("surrogate", path, text, message)
            if path:  # rename the member or element's key (object members only)
                parent = _get(template, path[:-1])
                if isinstance(parent, dict):
                    message = _with_fresh_id(template, "sur")
                    target = _get(message, path[:-1])
                    renamed = {(f"{k}{surrogate}" if k == path[-1] else k): v for k, v in target.items()}
                    text = json.dumps(_set(message, path[:-1], renamed))
                    yield _case("surrogate", path, text, message, key=True, ambiguous_id=path == ("id",))


HUGE = ("1e400", "-1e400", "1" + "0" * 30, "-" + "9" * 5000, "9223372036854775808", "NaN", "-Infinity")


def huge_numbers(template: dict[str, Any]) -> Iterator[Case]:
    """Numbers no 64-bit peer can hold (and NaN/Infinity, which JSON lacks but writers emit), in place of
    every value and as a new member of every object."""
    marker = "__HUGE__"
    for path in _paths(template):
        for number in HUGE:
            if path:
                message = _with_fresh_id(template, "huge")
                text = json.dumps(_set(message, path, marker)).replace(f'"{marker}"', number)
                yield _case("huge", path, text, message)
            if isinstance(_get(template, path), dict):
                message = _with_fresh_id(template, "huge")
                target = _get(message, path)
                target["huge"] = marker
                text = json.dumps(message).replace(f'"{marker}"', number)
                yield _case("huge", (*path, "huge"), text, message)


def duplicate_keys(template: dict[str, Any]) -> Iterator[Case]:
    """Every member of every object written twice, the second time with another value."""
    marker = "__DUPLICATE__"
    for path in _paths(template):
        if not isinstance(_get(template, path), dict):
            continue
        for key in _get(template, path):
            message = _with_fresh_id(template, "dup")
            target = _get(message, path)
            target[marker] = "other"
            text = json.dumps(message).replace(f'"{marker}"', json.dumps(key))
            yield _case("duplicate", (*path, key), text, message, key=True, ambiguous_id=not path)


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


KINDS = {
    "deep nesting": deep_nesting,
    "lone surrogates": lone_surrogates,
    "huge numbers": huge_numbers,
    "duplicate keys": duplicate_keys,
}


def all_cases() -> dict[str, list[Case]]:
    """Every case of every message kind, over every template."""
    return {name: [case for template in TEMPLATES for case in kind(template)] for name, kind in KINDS.items()}
