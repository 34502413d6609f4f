"""MCP over stdio, trio-native: newline-delimited JSON-RPC on fd 0/1 with no reader thread.

The SDK's own stdio transport reads stdin in a worker thread, so SIGTERM or Ctrl+C hangs until the
host writes another line (mcp-sdk-facts.md, python-sdk #3551). Here stdin is a trio stream, so
cancellation is immediate. While serving, fd 1 points at stderr, so a stray print cannot corrupt
the protocol. Lines that are not JSON-RPC get a JSON-RPC error answer instead of being dropped,
through the admission shared with HTTP (``labmcp.transports.admission``).
This module is the only one that touches the SDK's message types below the Server API.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import mcp_types as types
import trio
from mcp.server.lowlevel import Server
from mcp.server.models import InitializationOptions
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from labmcp.transports.admission import Refusal, admit, error_body

log = logging.getLogger("labmcp.stdio")


def classify(line: bytes, max_bytes: int) -> SessionMessage | bytes:
    """One line as a message for the server, or the bytes of the JSON-RPC error answering it.

    Admission (size, UTF-8, depth, surrogates, numbers, duplicate keys) is shared with the HTTP
    transport; what passes is then validated against the SDK's JSON-RPC models.
    """
    item = admit(line, max_bytes)
    if isinstance(item, Refusal):
        return item.body() + b"\n"
    try:
        message = types.jsonrpc_message_adapter.validate_python(item.message, by_name=False)
    except ValidationError:
        refusal = Refusal(types.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message", item.request_id)
        return refusal.body() + b"\n"
    return SessionMessage(message)


def encode_reply(message: SessionMessage) -> bytes:
    """One outgoing message as a line; a reply that cannot be serialised (say, a string holding a lone
    surrogate) becomes an internal-error answer for its id instead of ending the session."""
    try:
        return message.message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n"
    except (ValueError, UnicodeError):  # PydanticSerializationError is a ValueError
        request_id = getattr(message.message, "id", None)
        log.error("a reply to request %r could not be serialised; answered with an internal error", request_id)
        if request_id is None:
            return b""
        return error_body(types.INTERNAL_ERROR, "Internal error: the reply could not be encoded", request_id) + b"\n"


class LineSplitter:
    """Sans-IO framing: bytes in, complete non-blank lines out; ``None`` marks an oversized line."""

    def __init__(self, max_line: int) -> None:
        self._max = max_line
        self._buffer = b""
        self._discarding = False

    def feed(self, chunk: bytes) -> list[bytes | None]:
        out: list[bytes | None] = []
        self._buffer += chunk
        while (newline := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:newline], self._buffer[newline + 1 :]
            if self._discarding:
                self._discarding = False
            elif len(line) > self._max:
                out.append(None)
            elif line.strip():
                out.append(line.rstrip(b"\r"))
        if len(self._buffer) > self._max:
            if not self._discarding:
                log.warning("discarding an input line longer than %d bytes", self._max)
                out.append(None)
            self._discarding, self._buffer = True, b""
        return out


@contextmanager
def _claimed_stdio() -> Iterator[tuple[int, int]]:
    """Private duplicates of fd 0 and 1 for the protocol; fd 1 is pointed at stderr meanwhile."""
    sys.stdout.flush()
    in_fd, out_fd = os.dup(0), os.dup(1)
    saved_out = os.dup(1)
    os.dup2(2, 1)
    try:
        yield in_fd, out_fd
    finally:
        sys.stdout.flush()
        os.dup2(saved_out, 1)
        os.close(saved_out)


async def serve_stdio(server: Server[Any], options: InitializationOptions, max_bytes: int) -> None:
    """Serve one MCP session on this process's stdin/stdout until stdin closes or we are cancelled;
    a line longer than ``max_bytes`` is answered with a parse error."""
    if sys.platform == "win32":  # no trio fd streams on Windows: the SDK transport (threads) is the fallback
        from mcp.server.stdio import stdio_server  # noqa: PLC0415

        async with stdio_server() as (read_stream, write_stream):
            await server.run(read_stream, write_stream, options)
        return
    with _claimed_stdio() as (in_fd, out_fd):
        await serve_fds(server, options, in_fd, out_fd, max_bytes)


async def serve_fds(
    server: Server[Any], options: InitializationOptions, in_fd: int, out_fd: int, max_bytes: int
) -> None:
    """Serve one session over two file descriptors (which this function takes over and closes)."""
    stdin = trio.lowlevel.FdStream(in_fd)
    stdout = trio.lowlevel.FdStream(out_fd)
    write_lock = trio.Lock()
    to_server_send, to_server = anyio.create_memory_object_stream[SessionMessage | Exception](16)
    from_server, from_server_recv = anyio.create_memory_object_stream[SessionMessage](16)

    async def write(data: bytes) -> None:
        async with write_lock:
            await stdout.send_all(data)

    async def reader() -> None:
        splitter = LineSplitter(max_bytes)
        too_large = Refusal(types.PARSE_ERROR, f"Parse error: message longer than {max_bytes} bytes").body() + b"\n"
        async with to_server_send:
            while chunk := await stdin.receive_some(65536):
                for line in splitter.feed(chunk):
                    item = classify(line, max_bytes) if line is not None else too_large
                    if isinstance(item, bytes):
                        await write(item)
                    else:
                        await to_server_send.send(item)

    async def writer() -> None:
        async with from_server_recv:
            async for message in from_server_recv:
                if data := encode_reply(message):
                    await write(data)

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            nursery.start_soon(writer)
            await server.run(to_server, from_server, options)
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await stdin.aclose()
            await stdout.aclose()
