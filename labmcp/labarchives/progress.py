"""Progress of the request being served, told by the LabArchives client, forwarded by the MCP surface.

LabArchives allows about one call a second, so an answer that needs several calls, or waits behind
other callers, takes seconds. The MCP surface installs a sink for a request that carries a
``progressToken`` (MCP basic/utilities/progress); the client tells it each wait and each call through a
context variable, so no signature in between changes. Without a sink nothing is sent or counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol


class ProgressSink(Protocol):
    """Receives one step of progress: a short message for the person waiting ("reading folder 4 of 7")."""

    async def __call__(self, message: str, total: int | None = None) -> None: ...


_current: ContextVar[ProgressSink | None] = ContextVar("labmcp_progress", default=None)


@contextmanager
def reporting(sink: ProgressSink) -> Iterator[None]:
    """Send the progress of everything awaited inside to ``sink``."""
    token = _current.set(sink)
    try:
        yield
    finally:
        _current.reset(token)


async def step(message: str, total: int | None = None) -> None:
    """One step of the current request's work (no-op outside a request that asked for progress)."""
    sink = _current.get()
    if sink is not None:
        await sink(message, total)
