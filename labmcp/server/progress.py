"""``notifications/progress`` for a request that asked for it (MCP basic/utilities/progress).

The LabArchives client tells each wait and call through ``labmcp.labarchives.progress``; this sink
numbers the steps (progress only ever grows) and forwards at most one notification per
``MIN_INTERVAL`` seconds, so a fast burst of cached work sends little. A client that has gone away
or cannot take the notification never fails the request: progress is a courtesy.
"""

from __future__ import annotations

import logging
import math
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import trio

from labmcp.labarchives.progress import reporting

log = logging.getLogger("labmcp.server")

MIN_INTERVAL = 0.25
"""Seconds between two progress notifications of one request (at most four a second)."""


class Reporter:
    """Numbers the steps of one request and forwards them, rate-limited, to its session."""

    def __init__(self, session: Any, min_interval: float = MIN_INTERVAL) -> None:
        self._session = session
        self._min_interval = min_interval
        self._count = 0
        self._last = -math.inf

    async def __call__(self, message: str, total: int | None = None) -> None:
        self._count += 1
        now = trio.current_time()
        if now - self._last < self._min_interval:
            return
        self._last = now
        try:
            await self._session.report_progress(self._count, total, message)
        except (trio.BrokenResourceError, trio.ClosedResourceError, OSError, RuntimeError) as exc:
            log.debug("progress not delivered: %s", type(exc).__name__)


def progress_for(ctx: Any) -> AbstractContextManager[None]:
    """Report this request's progress when it carries a ``progressToken``; otherwise do nothing."""
    meta = getattr(ctx, "meta", None) or {}
    # ``_meta`` arrives as the wire's mapping (``progressToken``); accept the Python spelling too.
    if meta.get("progressToken") is None and meta.get("progress_token") is None:
        return nullcontext()
    return reporting(Reporter(ctx.session))
