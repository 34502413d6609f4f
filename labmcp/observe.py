"""What the layers report for metrics: small Protocols, so no layer imports the metrics module.

The LabArchives client reports upstream calls, pacing and retries; the cache reports hits; the MCP
layer reports requests. ``NullObserver`` is the default everywhere; the metrics registry
implements both protocols in sidecar mode.
"""

from __future__ import annotations

from typing import Protocol


class UpstreamObserver(Protocol):
    """Told about every LabArchives call the client makes."""

    def upstream_call(self, method: str, outcome: str, seconds: float) -> None:
        """One attempt finished. ``outcome``: ``ok``, ``http_<status>``, ``error_<code>``, ``timeout``,
        ``connect_error``, ``bad_response`` or ``too_large``."""

    def pacing_wait(self, seconds: float) -> None:
        """A call waited this long for its turn under the minimum interval."""

    def retry(self, method: str, reason: str) -> None:
        """An attempt is about to be repeated after a retryable failure."""

    def cache(self, kind: str, hit: bool) -> None:
        """A cache lookup of ``kind`` (``user``, ``tree_level``, ``node``, ...) hit or missed."""


class RequestObserver(Protocol):
    """Told about every MCP request the server answers."""

    def mcp_request(self, method: str, target: str, outcome: str, seconds: float) -> None:
        """``target`` is the tool, prompt or resource template name (or ``""``); ``outcome`` is
        ``ok``, ``tool_error`` or ``error``."""

    def in_flight(self, delta: int) -> None:
        """An MCP request started (+1) or finished (-1)."""


class Observer(UpstreamObserver, RequestObserver, Protocol):
    """Both seams at once: what the runner hands to the client and to the MCP server."""


class NullObserver:
    """Observes nothing; the default when metrics are off."""

    def upstream_call(self, method: str, outcome: str, seconds: float) -> None:
        pass

    def pacing_wait(self, seconds: float) -> None:
        pass

    def retry(self, method: str, reason: str) -> None:
        pass

    def cache(self, kind: str, hit: bool) -> None:
        pass

    def mcp_request(self, method: str, target: str, outcome: str, seconds: float) -> None:
        pass

    def in_flight(self, delta: int) -> None:
        pass
