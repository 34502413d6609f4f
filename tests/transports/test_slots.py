"""Connection slots: who is evicted at the cap, judged on real socket pairs (the kernel's byte counts)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from labmcp.transports.slots import Slots, unread_bytes


class Held:
    """A connection's server end in a slot; ``peer`` is the client end that sends."""

    def __init__(self) -> None:
        self.sock, self.peer = socket.socketpair()
        self.evicted = False

    def evict(self) -> None:
        self.evicted = True

    def unread_bytes(self) -> int:
        return unread_bytes(self.sock)

    def close(self) -> None:
        self.sock.close()
        self.peer.close()


@pytest.fixture
def held() -> Iterator[list[Held]]:
    made = [Held() for _ in range(4)]
    yield made
    for h in made:
        h.close()


def test_unread_bytes_counts_what_arrived_and_nothing_on_eof() -> None:
    a, b = socket.socketpair()
    with a, b:
        assert unread_bytes(a) == 0
        b.sendall(b"GET / HTTP/1.1\r\n\r\n")
        assert unread_bytes(a) == 18
        a.recv(4)
        assert unread_bytes(a) == 14
        a.recv(100)
        b.shutdown(socket.SHUT_WR)  # a half-close is readable but holds no data
        assert unread_bytes(a) == 0
    assert unread_bytes(a) == 0  # closed: fileno() is -1


def test_the_longest_idle_makes_room_and_busy_ones_never_do(held: list[Held]) -> None:
    first, second, third, fourth = held
    slots: Slots[Held] = Slots(2)
    assert slots.admit(first) and slots.admit(second)
    assert slots.admit(third)
    assert first.evicted and not second.evicted and len(slots) == 2
    slots.idle(second, False)
    slots.idle(third, False)
    assert not slots.admit(fourth)  # every slot is answering a request
    slots.idle(second, True)
    assert slots.admit(fourth) and second.evicted


def test_a_connection_whose_request_waits_unread_is_passed_over(held: list[Held]) -> None:
    keep_alive, idle, newcomer, late = held
    slots: Slots[Held] = Slots(2)
    assert slots.admit(keep_alive) and slots.admit(idle)
    keep_alive.peer.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")  # its next request arrived
    assert slots.admit(newcomer)
    assert idle.evicted and not keep_alive.evicted
    newcomer.peer.sendall(b"GET / HTTP/1.1\r\n")
    assert not slots.admit(late)  # both have something to serve: the newcomer is turned away
    keep_alive.sock.recv(1000)  # served; idle again with nothing unread
    slots.idle(keep_alive, True)
    assert slots.admit(late) and keep_alive.evicted


def test_release_frees_the_slot(held: list[Held]) -> None:
    first, second = held[:2]
    slots: Slots[Held] = Slots(1)
    assert slots.admit(first)
    slots.release(first)
    assert slots.admit(second) and not first.evicted


def test_a_stalled_request_goes_before_a_connection_that_has_sent_nothing(held: list[Held]) -> None:
    stalled, fresh, newcomer, late = held
    slots: Slots[Held] = Slots(2)
    assert slots.admit(fresh) and slots.admit(stalled)  # fresh is older
    slots.began(stalled)  # a head without its body
    slots.began(fresh)
    slots.idle(fresh, True)  # ... fresh was served and waits for its next request
    assert slots.admit(newcomer)
    assert stalled.evicted and not fresh.evicted
    assert slots.admit(late)  # no stalled one left: the one waiting longest for a first byte goes
    assert fresh.evicted and not newcomer.evicted
