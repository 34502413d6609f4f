"""What one MCP request may cost upstream: a call count, and the cache entries it is using.

A request (a tool call, a resource read, a completion, a prompt) opens ``request_scope()`` once,
at the MCP surface. Everything below finds it through a context variable, so no signature changes
hands: the client charges each LabArchives attempt against the request's call limit
(``LABARCHIVES_MAX_CALLS_PER_REQUEST``), and the cache pins every entry the request reads or
writes until the request ends, so a long walk never evicts the tree levels it is standing on.
Outside a request (start-up, readiness checks) nothing is counted or pinned.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from labmcp.errors import RequestBudgetError


@dataclass(slots=True)
class RequestCost:
    """The LabArchives calls one request has made and the cache entries it holds pinned."""

    calls: int = 0
    _releases: dict[tuple[int, Hashable], Callable[[], None]] = field(default_factory=dict)

    def charge(self, method: str, limit: int) -> None:
        """Count one upstream attempt; past ``limit`` the request ends with RequestBudgetError."""
        if self.calls >= limit:
            raise RequestBudgetError(
                f"this request needs more than {limit} LabArchives calls "
                f"(LABARCHIVES_MAX_CALLS_PER_REQUEST) and was stopped before {method}; what was fetched "
                "so far stays cached, so asking again continues from there",
                method=method,
            )
        self.calls += 1

    def hold(self, owner: object, key: Hashable, release: Callable[[], None]) -> bool:
        """Remember a pin of ``key`` in ``owner``; False when this request already holds it."""
        slot = (id(owner), key)
        if slot in self._releases:
            return False
        self._releases[slot] = release
        return True

    def release(self) -> None:
        for release in self._releases.values():
            release()
        self._releases.clear()


_current: ContextVar[RequestCost | None] = ContextVar("labmcp_request_cost", default=None)


def current() -> RequestCost | None:
    """The cost of the request being served, or None outside any request."""
    return _current.get()


@contextmanager
def request_scope() -> Iterator[RequestCost]:
    """Count and pin for one request; pins are released when it ends, however it ends."""
    cost = RequestCost()
    token = _current.set(cost)
    try:
        yield cost
    finally:
        _current.reset(token)
        cost.release()
