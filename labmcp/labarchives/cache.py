"""A small TTL + size-bounded cache, so repeated browsing costs no upstream calls.

LabArchives allows about one call per second per credential (§5.4), so economy is the real speed.
Entries expire after ``ttl`` seconds and the least recently used one is evicted beyond
``max_items``. The clock is passed in, so expiry is tested on trio's virtual clock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Maps keys to values for ``ttl`` seconds; ``ttl <= 0`` turns the cache off."""

    def __init__(self, ttl: float, max_items: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.max_items = max(1, max_items)
        self._clock = clock
        self._items: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self.ttl > 0

    def get(self, key: Hashable) -> V | None:
        """The live value for ``key``, or None (expired values are dropped on the way)."""
        if not self.enabled:
            return None
        found = self._items.get(key)
        if found is None:
            return None
        expires, value = found
        if self._clock() >= expires:
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: Hashable, value: V) -> None:
        if not self.enabled:
            return
        self._items[key] = (self._clock() + self.ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
