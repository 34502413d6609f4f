"""The byte-budgeted cache: weighed honestly, evicted least-recent first, never under a running request."""

from __future__ import annotations

import sys

import trio
import trio.testing

from labmcp.labarchives import quota
from labmcp.labarchives.cache import ByteCache, weigh
from labmcp.labarchives.models import Entry, PageEntries

MIB = 1024 * 1024


def _page(chars: int) -> PageEntries:
    return PageEntries((Entry("e1", "text entry", entry_data="x" * chars),), 1)


def test_weigh_counts_the_bytes_a_value_holds_not_the_items() -> None:
    """A 6 MB page weighs about 6 MB; a tuple of small nodes weighs a little more than its strings."""
    page = _page(6 * MIB)
    assert 6 * MIB < weigh(page) < 6 * MIB + 4096
    blob = b"\x00" * MIB
    assert weigh((blob, blob)) < 2 * MIB, "one object reachable twice is counted once"
    assert weigh("abc") == sys.getsizeof("abc")


async def test_cache_expires_after_ttl_and_evicts_least_recent(autojump_clock: trio.testing.MockClock) -> None:
    cache = ByteCache(10.0, 3 * MIB, trio.current_time)
    cache.put("a", _page(MIB))
    cache.put("b", _page(MIB))
    assert cache.get("a") is not None
    cache.put("c", _page(MIB))
    assert cache.get("b") is None, "b was least recently used"
    assert cache.get("a") is not None
    assert cache.bytes <= cache.max_bytes
    await trio.sleep(10.5)
    assert cache.get("a") is None
    assert len(cache) == 1


def test_thirty_pages_of_six_megabytes_stay_within_the_budget() -> None:
    cache = ByteCache(300.0, 16 * MIB, lambda: 0.0)
    for n in range(30):
        cache.put(("page", n), _page(6 * MIB // 4))
        assert cache.bytes <= 16 * MIB
    assert 0 < len(cache) < 30


def test_a_value_larger_than_the_budget_is_not_stored() -> None:
    cache = ByteCache(300.0, MIB, lambda: 0.0)
    assert not cache.put("big", _page(2 * MIB))
    assert cache.get("big") is None and cache.bytes == 0


def test_entries_a_request_uses_are_not_evicted_until_it_ends() -> None:
    """A walk's own tree levels stay while it runs: new values that do not fit beside them are dropped."""
    cache = ByteCache(300.0, 3 * MIB, lambda: 0.0)
    with quota.request_scope():
        cache.put("level-1", _page(MIB))
        cache.put("level-2", _page(MIB))
        assert not cache.put("other", _page(2 * MIB)), "only pinned entries could make room"
        assert cache.get("level-1") is not None and cache.get("level-2") is not None
    assert cache.put("other", _page(2 * MIB)), "after the request its entries may go"
    assert cache.bytes <= cache.max_bytes


def test_cache_with_zero_ttl_or_zero_bytes_is_off() -> None:
    for cache in (ByteCache(0, MIB, lambda: 0.0), ByteCache(10, 0, lambda: 0.0)):
        cache.put("a", 1)
        assert cache.get("a") is None
