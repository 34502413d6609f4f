"""Streamable HTTP: each POSTed request answered with plain JSON unless it may send messages first.

MCP Streamable HTTP (2025-06-18 and 2025-11-25, basic/transports, "Sending Messages to the Server")
lets the server answer a POSTed request either with ``Content-Type: application/json`` (the one
response object) or with ``text/event-stream`` (an SSE stream that may carry the server's
notifications and requests before the response); the client must accept both. The SDK (mcp 2.3)
makes that choice once per application (``json_response``). On hypercorn's trio worker an SSE
answer costs about twice the server CPU of a JSON one (README, Performance), and nearly every call
sends nothing but its answer, so labmcp chooses per request:

- **SSE** when the request carries ``params._meta.progressToken`` (as the SDK reads it): progress
  (``labmcp.server.progress``) is the only message labmcp sends inside a request. It sends no
  logging notifications and no server-to-client requests (on a JSON answer the SDK would refuse
  one with ``NoBackChannelError`` rather than hang), and resource notifications go on the
  session's GET stream, not on a request's.
- **JSON** for every other request, ``initialize`` included; notifications get 202 either way.

How, since the SDK has no per-request hook: the guard marks the ASGI scope of each admitted POST
(:func:`mark`). :func:`install` makes the SDK's session manager build :class:`PerRequestTransport`
for each session (and, in stateless mode, for each request). The SDK's transport consults
``is_json_response_enabled`` at each step of answering; here that is a property backed by a
context variable set for the request's own task from the mark, so concurrent requests of one
session each get their own kind of answer through the SDK's own JSON or SSE code. The session's
message router runs in its own task, never marked, so it sees the application default (SSE) and
delivers a request's progress to that request's stream. These are assumptions about the SDK's
internals: ``tests/transports/test_answers.py`` reads its source and fails, naming the
difference, when one moves. Upstream, the change would be a per-request predicate for
``json_response``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from mcp.server import streamable_http_manager
from mcp.server.streamable_http import StreamableHTTPServerTransport
from mcp.shared.jsonrpc_dispatcher import progress_token_from_params
from starlette.types import Receive, Scope, Send

SCOPE_KEY = "labmcp.json_answer"
"""ASGI scope key the guard sets on an admitted POST: True to answer with plain JSON."""

_JSON_ANSWER: ContextVar[bool | None] = ContextVar("labmcp_json_answer", default=None)


def needs_stream(message: Mapping[str, Any]) -> bool:
    """Whether the server may send messages for ``message`` before its answer: a progressToken."""
    params = message.get("params")
    return isinstance(params, Mapping) and progress_token_from_params(params) is not None


def mark(scope: Scope, message: Mapping[str, Any]) -> Scope:
    """A copy of ``scope`` that tells :class:`PerRequestTransport` how to answer ``message``."""
    return {**scope, SCOPE_KEY: not needs_stream(message)}


class PerRequestTransport(StreamableHTTPServerTransport):
    """The SDK's transport, answering each request as :func:`mark` chose (unmarked: as configured)."""

    _configured = False

    @property
    def is_json_response_enabled(self) -> bool:
        chosen = _JSON_ANSWER.get()
        return self._configured if chosen is None else chosen

    @is_json_response_enabled.setter
    def is_json_response_enabled(self, value: bool) -> None:
        self._configured = value

    async def handle_request(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = scope.get(SCOPE_KEY)
        token = _JSON_ANSWER.set(chosen if isinstance(chosen, bool) else None)
        try:
            await super().handle_request(scope, receive, send)
        finally:
            _JSON_ANSWER.reset(token)


def install() -> None:
    """Make the SDK's Streamable HTTP session manager build :class:`PerRequestTransport` (idempotent)."""
    # The manager builds every transport through this module-level name (pinned by the tests).
    streamable_http_manager.StreamableHTTPServerTransport = PerRequestTransport  # type: ignore[attr-defined]
