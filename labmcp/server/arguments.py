"""Tool arguments: how each is declared, advertised as JSON Schema, and checked on the way in.

A tool's ``Param`` list is the single source of both its input schema and the checks applied to
incoming arguments, so the advertised contract and the enforced one cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labmcp.errors import InvalidArgumentError

MAX_ID_CHARS = 1024
MAX_TEXT_CHARS = 500
TEXT_ARGS = frozenset({"query", "terms", "topic"})
"""Free-text arguments: up to ``MAX_TEXT_CHARS``, any characters; every other string is an id or a name."""


@dataclass(frozen=True, slots=True)
class Param:
    """One tool argument: JSON type (``string`` or ``integer``), whether required, default, meaning."""

    name: str
    kind: str
    description: str
    required: bool = False
    default: int | str | None = None
    minimum: int | None = None
    maximum: int | str | None = None
    """A fixed bound, or the name of a ``ToolLimits`` field that holds the configured one."""


@dataclass(frozen=True, slots=True)
class Takes:
    """What takes arguments (a tool, or a prompt in ``labmcp.server.prompts``): name, title, the
    description its reader sees, and its parameters."""

    name: str
    title: str
    description: str
    params: tuple[Param, ...]


@dataclass(frozen=True, slots=True)
class ToolSpec(Takes):
    """A tool: a ``Takes`` with the output schema of its structured content."""

    output: Mapping[str, Any]

    def input_schema(self, limits: ToolLimits) -> dict[str, Any]:
        """The JSON Schema of the arguments, with every bound the server enforces (so clients can check first)."""
        props: dict[str, Any] = {}
        for p in self.params:
            prop: dict[str, Any] = {"type": p.kind, "description": p.description}
            if p.kind == "string":
                prop.update(minLength=1, maxLength=MAX_TEXT_CHARS if p.name in TEXT_ARGS else MAX_ID_CHARS)
            if p.minimum is not None:
                prop["minimum"] = p.minimum
            maximum = limits.bound(p)
            if maximum is not None:
                prop["maximum"] = maximum
            if p.name == "max_chars":
                prop["default"] = limits.content_limit
            elif p.default is not None:
                prop["default"] = p.default
            props[p.name] = prop
        return {
            "type": "object",
            "properties": props,
            "required": [p.name for p in self.params if p.required],
            "additionalProperties": False,
        }


@dataclass(frozen=True, slots=True)
class ToolLimits:
    """What the server enforces on tool arguments and which tools it offers, from the settings."""

    content_limit: int
    max_depth: int
    enabled: frozenset[str]

    def bound(self, param: Param) -> int | None:
        if isinstance(param.maximum, str):
            value: int = getattr(self, param.maximum)
            return value
        return param.maximum


def check_arguments(
    spec: Takes, arguments: Mapping[str, Any] | None, limits: ToolLimits | None = None
) -> dict[str, Any]:
    """Validate arguments against the tool's (or prompt's) parameters; the error names the argument and the fix.

    Without ``limits`` (prompts, whose arguments are all strings) only fixed bounds apply.
    """
    given = dict(arguments or {})
    known = {p.name for p in spec.params}
    unknown = sorted(set(given) - known)
    if unknown:
        expected = ", ".join(p.name for p in spec.params) or "no arguments"
        raise InvalidArgumentError(f"{spec.name}: unknown argument(s) {', '.join(unknown)}; expected {expected}")
    out: dict[str, Any] = {}
    for p in spec.params:
        value = given.get(p.name)
        if value is None:
            if p.required:
                raise InvalidArgumentError(f"{spec.name}: missing required argument {p.name} ({p.kind})")
            out[p.name] = p.default
            continue
        if p.kind == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise InvalidArgumentError(
                        f"{spec.name}: {p.name} must be an integer, got {json.dumps(value)[:80]}"
                    )
            if p.minimum is not None and value < p.minimum:
                raise InvalidArgumentError(f"{spec.name}: {p.name} must be >= {p.minimum}, got {value}")
            maximum = limits.bound(p) if limits is not None else p.maximum
            if isinstance(maximum, int) and value > maximum:
                raise InvalidArgumentError(f"{spec.name}: {p.name} must be <= {maximum}, got {value}")
        else:
            if not isinstance(value, str):
                raise InvalidArgumentError(f"{spec.name}: {p.name} must be a string, got {type(value).__name__}")
            if not value.strip():
                raise InvalidArgumentError(f"{spec.name}: {p.name} must not be empty")
            limit = MAX_TEXT_CHARS if p.name in TEXT_ARGS else MAX_ID_CHARS
            if len(value) > limit:
                raise InvalidArgumentError(f"{spec.name}: {p.name} is longer than {limit} characters")
            if p.name not in TEXT_ARGS and any(ord(ch) < 32 for ch in value):
                raise InvalidArgumentError(f"{spec.name}: {p.name} contains control characters")
        out[p.name] = value
    return out
