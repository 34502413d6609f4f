"""The one place where labmcp's exceptions become MCP errors (tool results or JSON-RPC errors)."""

from __future__ import annotations

import logging

import mcp_types as types
from mcp.shared.exceptions import MCPError

from labmcp.errors import (
    InvalidArgumentError,
    LabArchivesError,
    LabMCPError,
    NotFoundError,
)

log = logging.getLogger("labmcp.server")

RESOURCE_NOT_FOUND = -32002
"""The MCP specification's code for an unknown resource URI."""


def describe(exc: BaseException) -> str:
    """A clear, secret-free sentence for the model: our messages are safe by construction; anything
    else is a bug, reported without its text (which could hold anything) and logged for us."""
    if isinstance(exc, LabArchivesError):
        return f"LabArchives error: {exc}"
    if isinstance(exc, LabMCPError):
        return str(exc)
    log.error("unexpected %s while serving a request", type(exc).__name__, exc_info=exc)
    return f"internal error ({type(exc).__name__}); the server logged the details and keeps serving"


def tool_error(exc: BaseException) -> types.CallToolResult:
    """A failed tool call as an ``isError`` result the model can read and act on."""
    return types.CallToolResult(content=[types.TextContent(type="text", text=describe(exc))], is_error=True)


def rpc_error(exc: BaseException) -> MCPError:
    """A failed resource read, prompt or completion as a JSON-RPC error with a fitting code."""
    if isinstance(exc, MCPError):
        return exc
    if isinstance(exc, NotFoundError):
        return MCPError(code=RESOURCE_NOT_FOUND, message=describe(exc))
    if isinstance(exc, InvalidArgumentError):
        return MCPError(code=types.INVALID_PARAMS, message=describe(exc))
    return MCPError(code=types.INTERNAL_ERROR, message=describe(exc))
