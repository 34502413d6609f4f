"""One notebook service per signed-in user, built on first use and kept for the most recent users.

Each user gets their own LabArchives client view (their uid, their caches) sharing the process's
connection pool, clock and pacer with everyone else on the akid, and their own scope resolved
from the administrator's settings (notebook, folder) against *their* notebooks. Nothing is keyed
by anything but the uid, so user A's cached pages can never answer user B.

Bounded: at most ``max_users`` services are kept (least recently used goes first), and each
user's caches are a share of the configured cache size, so memory does not grow with the
number of people who ever signed in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

import trio

from labmcp.auth.identity import SignedInUser
from labmcp.notebook.service import NotebookService

Build = Callable[[SignedInUser], Awaitable[NotebookService]]


class UserServices:
    """``service(user)``: that user's NotebookService, built once even under concurrent first calls."""

    def __init__(self, build: Build, max_users: int) -> None:
        self._build = build
        self._max = max_users
        self._services: OrderedDict[str, NotebookService] = OrderedDict()
        self._building: dict[str, trio.Lock] = {}

    def __len__(self) -> int:
        return len(self._services)

    async def service(self, user: SignedInUser) -> NotebookService:
        found = self._services.get(user.uid)
        if found is not None:
            self._services.move_to_end(user.uid)
            return found
        lock = self._building.setdefault(user.uid, trio.Lock())
        try:
            async with lock:
                found = self._services.get(user.uid)
                if found is None:
                    found = await self._build(user)
                    self._services[user.uid] = found
                    while len(self._services) > self._max:
                        self._services.popitem(last=False)
                return found
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._building.pop(user.uid, None)
