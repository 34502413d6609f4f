"""Connection slots shared by both listeners: at the cap, the connection idle longest makes room.

Both the MCP listener (``hyper.Connections``) and the health listener cap their open connections. A
connection is *idle* while it waits for a request, or (health listener) for the rest of one; idle,
slow or half-open connections must not starve newcomers, so at the cap one idle connection is
evicted. Which one, in this order:

- never one whose socket holds bytes nobody has read yet: its request has arrived and is about to
  be served, and cutting it would make the client see "server disconnected without a response" for
  a request it had already sent;
- first those that *began* a request and stalled (a head without its body, half a head): a client
  that has started sending has no reason to stop, and these are what slow-client attacks hold;
- then those waiting for the first byte of a request, longest first: a client that has just
  connected (a probe that is about to send) is the last to go.

When every connection is busy or has unread bytes, the newcomer is turned away and the caller
answers it with a 503.
"""

from __future__ import annotations

import array
from typing import Generic, Protocol, TypeVar

try:  # POSIX; elsewhere every socket reads as holding nothing, which is the plain longest-idle rule
    import fcntl
    import termios

    _FIONREAD: int | None = termios.FIONREAD
except ImportError:  # pragma: no cover - Windows
    _FIONREAD = None


class FileDescriptor(Protocol):
    def fileno(self) -> int: ...


def unread_bytes(sock: FileDescriptor) -> int:
    """How many received bytes the kernel holds for ``sock`` that no ``recv`` has taken yet.

    ``ioctl(FIONREAD)`` (Linux ``tcp(7)``, BSD ``ioctl(2)``): it counts data only, so a peer that
    half-closed after sending nothing reads as 0 (unlike ``poll`` readiness, which EOF sets too).
    Returns 0 for a closed socket or where the call is unavailable.
    """
    if _FIONREAD is None:  # pragma: no cover - Windows
        return 0
    try:
        fd = sock.fileno()
        if fd < 0:
            return 0
        count = array.array("i", [0])
        fcntl.ioctl(fd, _FIONREAD, count, True)
        return count[0]
    except (OSError, ValueError):
        return 0


class Occupant(Protocol):
    """What a slot holds: something that can be evicted and asked for its unread bytes."""

    def evict(self) -> None: ...

    def unread_bytes(self) -> int: ...


OccupantT = TypeVar("OccupantT", bound=Occupant)


class Slots(Generic[OccupantT]):
    """At most ``limit`` occupants; a newcomer evicts an idle one by the order in the module docstring."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: set[OccupantT] = set()
        # Insertion order = how long each has been in that state.
        self._stalled: dict[OccupantT, None] = {}
        self._idle: dict[OccupantT, None] = {}

    def admit(self, occupant: OccupantT) -> bool:
        """Take ``occupant`` in (idle, waiting for its first request); False when no slot can be freed."""
        if len(self._open) >= self.limit:
            candidates = (*self._stalled, *self._idle)
            victim = next((o for o in candidates if o.unread_bytes() == 0), None)
            if victim is None:
                return False
            self.release(victim)
            victim.evict()
        self._open.add(occupant)
        self._idle[occupant] = None
        return True

    def idle(self, occupant: OccupantT, idle: bool) -> None:
        """Mark ``occupant`` idle, waiting for a request (to the back of that line), or busy (never evicted)."""
        self._stalled.pop(occupant, None)
        self._idle.pop(occupant, None)
        if idle and occupant in self._open:
            self._idle[occupant] = None

    def began(self, occupant: OccupantT) -> None:
        """Bytes of a request arrived on idle ``occupant``: it goes to the stalled line, evicted first.

        It keeps its place there however slowly the rest trickles in; a busy occupant is unaffected.
        """
        if self._idle.pop(occupant, 0) is None:
            self._stalled[occupant] = None

    def release(self, occupant: OccupantT) -> None:
        """Forget ``occupant``: it closed or was evicted."""
        self._open.discard(occupant)
        self._stalled.pop(occupant, None)
        self._idle.pop(occupant, None)

    def __len__(self) -> int:
        return len(self._open)
