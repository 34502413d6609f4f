"""Who owns each Streamable HTTP session, and which session makes room for a new one (pure).

Policy (README "Sessions"):

- A session belongs to the *principal* that created it: an opaque string the auth layer supplies
  (in static-token mode a keyed hash of the bearer token, ``anonymous`` without a token). A
  request for a session of another principal is answered exactly like one for an unknown session
  (404), so ids cannot be probed; that holds for POST, GET and DELETE alike.
- Limits: at most ``per_principal`` sessions per principal and ``total`` in all. A new session
  over either limit takes the place of the least recently used *idle* session in that set (no
  request in flight, no open GET stream), which is closed; only when every session in the set is
  busy is the new one refused (503, ``Retry-After``). Filling the table therefore locks nobody out.
- A session with nothing in flight for ``idle_timeout`` seconds expires.

Times are plain floats from the caller's clock, so the policy is tested without sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

ANONYMOUS = "anonymous"


def static_principal(key: bytes, token: bytes) -> str:
    """The principal of a static bearer token: a keyed hash, so the token itself is never kept or logged."""
    return "static:" + hmac.new(key, token, hashlib.sha256).hexdigest()[:32]


@dataclass(slots=True)
class _Session:
    owner: str
    last_used: float
    in_flight: int = 0


class SessionTable:
    """Session ids with their owner, activity and use; decides evictions and expiry."""

    def __init__(self, *, total: int, per_principal: int, idle_timeout: float) -> None:
        self.total = total
        self.per_principal = per_principal
        self.idle_timeout = idle_timeout
        self._sessions: dict[str, _Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def owned_by(self, session_id: str, principal: str) -> bool:
        """Whether ``session_id`` is a live session of ``principal`` (False for unknown ids)."""
        session = self._sessions.get(session_id)
        return session is not None and hmac.compare_digest(session.owner, principal)

    def has_expired(self, session_id: str, now: float) -> bool:
        """Whether ``session_id`` has had nothing in flight for the idle timeout (False if unknown)."""
        session = self._sessions.get(session_id)
        return session is not None and session.in_flight == 0 and now - session.last_used >= self.idle_timeout

    def expired(self, now: float) -> list[str]:
        """Sessions idle for longer than the idle timeout; the caller closes them and calls ``remove``."""
        return [sid for sid, s in self._sessions.items() if s.in_flight == 0 and now - s.last_used >= self.idle_timeout]

    def make_room(self, principal: str) -> tuple[bool, list[str]]:
        """Whether ``principal`` may open a session now, and which sessions must be closed first."""
        victims: list[str] = []
        mine = [sid for sid, s in self._sessions.items() if s.owner == principal]
        if len(mine) >= self.per_principal:
            victim = self._least_recent_idle(mine)
            if victim is None:
                return False, []
            victims.append(victim)
        if len(self._sessions) - len(victims) >= self.total:
            victim = self._least_recent_idle([sid for sid in self._sessions if sid not in victims])
            if victim is None:
                return False, []
            victims.append(victim)
        return True, victims

    def _least_recent_idle(self, candidates: list[str]) -> str | None:
        idle = [sid for sid in candidates if self._sessions[sid].in_flight == 0]
        return min(idle, key=lambda sid: self._sessions[sid].last_used) if idle else None

    def add(self, session_id: str, principal: str, now: float) -> None:
        self._sessions[session_id] = _Session(principal, now)

    def remove(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def begin(self, session_id: str, now: float) -> None:
        """A request (or GET stream) for the session starts."""
        session = self._sessions.get(session_id)
        if session is not None:
            session.in_flight += 1
            session.last_used = now

    def end(self, session_id: str, now: float) -> None:
        """A request (or GET stream) for the session ended."""
        session = self._sessions.get(session_id)
        if session is not None:
            session.in_flight = max(0, session.in_flight - 1)
            session.last_used = now
