"""One TTL cache bounded in bytes, so repeated browsing costs no upstream calls and memory stays put.

LabArchives allows about one call per second per credential (§5.4), so economy is the real speed;
the pod's memory limit is the real bound. Every value is weighed when stored (``weigh``: the
``sys.getsizeof`` of each object reachable through tuples, lists, dicts and dataclasses, so a
6 MB page counts as 6 MB, not as one item). Beyond ``max_bytes`` the least recently used entry
goes first, except entries pinned by a request in progress (``quota.request_scope``): a walk
never evicts its own working set. A value that does not fit beside the pinned ones is simply not
stored. Entries expire after ``ttl`` seconds; the clock is passed in, so expiry is tested on
trio's virtual clock.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from labmcp.labarchives import quota

_SEEN_LIMIT = 1_000_000
"""Objects weighed per value at most; a value with more is treated as too big to cache."""


def weigh(value: object) -> int:
    """Bytes held by ``value``: every distinct object reachable through containers and dataclasses."""
    seen: set[int] = set()
    stack = [value]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, bool):
            continue
        seen.add(id(obj))
        if len(seen) > _SEEN_LIMIT:
            return sys.maxsize
        total += sys.getsizeof(obj)
        if isinstance(obj, str | bytes | int | float):
            continue
        if isinstance(obj, tuple | list | frozenset | set):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif dataclasses.is_dataclass(obj):
            stack.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
    return total


@dataclass(slots=True)
class _Entry:
    expires: float
    value: object
    size: int


class ByteCache:
    """Maps keys to values for ``ttl`` seconds within ``max_bytes``; ``ttl <= 0`` turns it off."""

    def __init__(self, ttl: float, max_bytes: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self.max_bytes = max(0, max_bytes)
        self._clock = clock
        self._items: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._pins: dict[Hashable, int] = {}
        self.bytes = 0

    @property
    def enabled(self) -> bool:
        return self.ttl > 0 and self.max_bytes > 0

    def get(self, key: Hashable) -> object | None:
        """The live value for ``key``, or None (expired values are dropped on the way)."""
        if not self.enabled:
            return None
        found = self._items.get(key)
        if found is None:
            return None
        if self._clock() >= found.expires:
            self._drop(key)
            return None
        self._items.move_to_end(key)
        self._pin(key)
        return found.value

    def put(self, key: Hashable, value: object, size: int | None = None) -> bool:
        """Store ``value`` (weighed unless ``size`` is given); False when it does not fit."""
        if not self.enabled:
            return False
        self._drop(key)
        weight = weigh(value) if size is None else size
        if weight > self.max_bytes:
            return False
        for old in [k for k in self._items if k not in self._pins]:
            if self.bytes + weight <= self.max_bytes:
                break
            self._drop(old)
        if self.bytes + weight > self.max_bytes:
            return False
        self._items[key] = _Entry(self._clock() + self.ttl, value, weight)
        self.bytes += weight
        self._pin(key)
        return True

    def _drop(self, key: Hashable) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self.bytes -= entry.size

    def _pin(self, key: Hashable) -> None:
        cost = quota.current()
        if cost is not None and cost.hold(self, key, lambda: self._unpin(key)):
            self._pins[key] = self._pins.get(key, 0) + 1

    def _unpin(self, key: Hashable) -> None:
        left = self._pins.get(key, 0) - 1
        if left > 0:
            self._pins[key] = left
        else:
            self._pins.pop(key, None)

    def forget(self, match: Callable[[Hashable], bool]) -> int:
        """Drop every entry whose key ``match``es (what LabArchives reports changed); returns how many."""
        doomed = [key for key in self._items if match(key)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)
