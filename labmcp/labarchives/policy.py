"""How politely we call LabArchives: one call at a time, spaced, with bounded back-off (§5.4).

LabArchives asks clients to serialise calls or space them at least a second apart, never to retry
a 4xx, and to back off exponentially from at least a second on failures; abuse can get the
credentials revoked. ``Pacer`` serialises and spaces calls on trio's clock (so tests run on the
virtual clock); ``RetryPolicy`` is the pure retry decision.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """At most ``max_attempts`` tries; waits ``backoff``, ``2*backoff``, ... between them."""

    max_attempts: int = 3
    backoff: float = 1.0

    def delay(self, failed_attempts: int) -> float:
        """Seconds to wait after the ``failed_attempts``-th failure (1-based)."""
        return float(self.backoff * 2.0 ** (failed_attempts - 1))

    def should_retry(self, failed_attempts: int, retryable: bool) -> bool:
        """Retry only failures marked retryable (connection, timeout, 5xx), within the budget."""
        return retryable and failed_attempts < self.max_attempts


class Pacer:
    """Serialises upstream calls and starts each at least ``interval`` seconds after the last ended.

    Held for the whole call (not only its start), so two calls never overlap on the wire; counting
    from the end, not the start, keeps the gap LabArchives sees at or above the interval even when
    network latency varies. ``on_wait`` is told how long each call waited for its turn (metric).
    """

    def __init__(self, interval: float, on_wait: Callable[[float], None], clock: Callable[[], float] | None = None):
        self.interval = interval
        self._lock = trio.Lock()
        self._last_end: float | None = None
        self._on_wait = on_wait
        self._clock = clock or trio.current_time
        self.queued = 0
        """Calls holding or waiting for a turn: what a newcomer waits behind (for progress messages)."""

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for the lock and the interval, then hold the turn while the call runs."""
        asked = self._clock()
        self.queued += 1
        try:
            async with self._lock:
                if self._last_end is not None:
                    ready_at = self._last_end + self.interval
                    now = self._clock()
                    if ready_at > now:
                        await trio.sleep(ready_at - now)
                self._on_wait(max(0.0, self._clock() - asked))
                try:
                    yield
                finally:
                    self._last_end = self._clock()
        finally:
            self.queued -= 1
