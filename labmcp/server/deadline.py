"""Deadlines of MCP requests: a total time per request, and a cut-off when the server shuts down.

Every handler runs inside ``Deadlines.scope()``. The deadline measures the request itself (from the
moment the handler starts to its answer), never the peer's silence, so a client waiting for paced
LabArchives work gets its answer however long that takes, up to ``request_timeout`` seconds. When
the server begins to shut down, every running and future request is also cut at the end of the grace
period, so a call that outlives it still gets an explicit error answer before the listener closes
the connections. A cut request leaves the LabArchives client's queue, releasing its pacing turn.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import trio

from labmcp.errors import LabMCPError


class RequestTimeoutError(LabMCPError):
    """A request ran past its total deadline or past the shutdown grace period."""


class Deadlines:
    """The request deadline and the shutdown cut-off, applied to the cancel scopes of running requests."""

    def __init__(self, request_timeout: float) -> None:
        self.request_timeout = request_timeout
        self._cutoff = math.inf
        self._running: set[trio.CancelScope] = set()

    def shutting_down(self, grace: float) -> None:
        """From now on every request ends at most ``grace`` seconds from now."""
        self._cutoff = min(self._cutoff, trio.current_time() + grace)
        for scope in self._running:
            scope.deadline = min(scope.deadline, self._cutoff)

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Run the body under the deadlines; raises RequestTimeoutError (with a clear reason) when cut."""
        deadline = min(trio.current_time() + self.request_timeout, self._cutoff)
        with trio.CancelScope(deadline=deadline) as scope:
            self._running.add(scope)
            try:
                yield
            finally:
                self._running.discard(scope)
        if scope.cancelled_caught:
            if scope.deadline >= self._cutoff:
                raise RequestTimeoutError("the server is shutting down and this request ran out of time; retry")
            raise RequestTimeoutError(
                f"the request took longer than {self.request_timeout:g} s and was stopped; "
                "try a narrower request (smaller depth or limit)"
            )
