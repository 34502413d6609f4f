"""Pacing and back-off on trio's virtual clock (§5.4)."""

from __future__ import annotations

import itertools

import trio
import trio.testing

from labmcp.labarchives.policy import Pacer, RetryPolicy


def test_backoff_doubles_from_the_base_and_attempts_are_bounded() -> None:
    """§5.4 [DOC]: wait >= 1 s, then back off exponentially, bounded."""
    policy = RetryPolicy(max_attempts=3, backoff=1.0)
    assert [policy.delay(n) for n in (1, 2)] == [1.0, 2.0]
    assert policy.should_retry(1, retryable=True)
    assert policy.should_retry(2, retryable=True)
    assert not policy.should_retry(3, retryable=True)
    assert not policy.should_retry(1, retryable=False)


async def test_pacer_spaces_concurrent_calls_from_the_end_of_the_last_and_never_overlaps(
    autojump_clock: trio.testing.MockClock,
) -> None:
    waits: list[float] = []
    pacer = Pacer(1.0, waits.append)
    spans: list[tuple[float, float]] = []
    active = 0

    async def call() -> None:
        nonlocal active
        async with pacer.turn():
            active += 1
            assert active == 1
            start = trio.current_time()
            await trio.sleep(0.25)
            spans.append((start, trio.current_time()))
            active -= 1

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(call)
    gaps = [nxt[0] - prev[1] for prev, nxt in itertools.pairwise(spans)]
    assert all(abs(gap - 1.0) < 1e-9 for gap in gaps)
    assert len(waits) == 5
    assert max(waits) >= 5.0


async def test_zero_interval_still_serialises(autojump_clock: trio.testing.MockClock) -> None:
    pacer = Pacer(0.0, lambda _: None)
    order: list[str] = []

    async def call(name: str) -> None:
        async with pacer.turn():
            order.append(f"start {name}")
            await trio.sleep(1)
            order.append(f"end {name}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(call, "a")
        nursery.start_soon(call, "b")
    assert order[1].startswith("end")
