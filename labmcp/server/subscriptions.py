"""Resource subscriptions (MCP ``resources/subscribe``): a polling watcher of LabArchives' change feed.

LabArchives pushes nothing, so with ``LABMCP_SUBSCRIPTION_INTERVAL`` > 0 a watcher asks
``modified_since`` (§6.5) every interval, but only while some client is subscribed: one call per
notebook in scope per interval, plus what proving a changed entry's page costs (the search placement,
bounded by ``LABARCHIVES_MAX_CALLS_PER_REQUEST``), all through the same pacer as every other call.
For each changed page in scope it drops the page's cached entries (so the next read is fresh) and
sends ``notifications/resources/updated`` for the page's URI to every subscribed connection. With an
unrestricted scope it also re-reads the notebook list and sends ``notifications/resources/list_changed``
to the connections that listed resources when notebooks appear or vanish.

These are the handshake-era messages (2024-11-05 … 2025-11-25), which the SDK delivers on the
connection's own channel (stdio, or the Streamable HTTP GET stream) after the subscribe request has
ended. The connection is recognised by the SDK's per-connection object behind each request's session
(``_connection``): the one use of an SDK internal here, covered by the end-to-end subscription test.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import trio

from labmcp.errors import InvalidArgumentError, LabMCPError, StartupError
from labmcp.labarchives.quota import request_scope
from labmcp.notebook import uris
from labmcp.notebook.service import NotebookService

log = logging.getLogger("labmcp.server")

OVERLAP = timedelta(seconds=2)
"""Each poll looks this far behind the previous one (``since_time`` has whole seconds); repeats are dropped."""


def _connection_of(session: Any) -> object:
    return getattr(session, "_connection", session)


class Subscriptions:
    """Who is subscribed to which page URI, and who listed resources; by connection, not by request."""

    def __init__(self) -> None:
        self._pages: dict[str, dict[int, Any]] = {}
        self._listers: dict[int, Any] = {}

    def __bool__(self) -> bool:
        return bool(self._pages) or bool(self._listers)

    @staticmethod
    def _key(session: Any) -> int:
        return id(_connection_of(session))

    def subscribe(self, session: Any, uri: str) -> None:
        self._pages.setdefault(uri, {})[self._key(session)] = session

    def unsubscribe(self, session: Any, uri: str) -> None:
        holders = self._pages.get(uri, {})
        holders.pop(self._key(session), None)
        if not holders:
            self._pages.pop(uri, None)

    def listed(self, session: Any) -> None:
        """A connection that listed resources hears when the notebook list changes."""
        self._listers[self._key(session)] = session

    def watched(self) -> set[str]:
        return set(self._pages)

    async def updated(self, uri: str) -> int:
        """``notifications/resources/updated`` to every connection subscribed to ``uri``; returns how many."""
        return await self._send(self._pages.get(uri, {}), lambda s: s.send_resource_updated(uri))

    async def list_changed(self) -> int:
        return await self._send(self._listers, lambda s: s.send_resource_list_changed())

    async def _send(self, holders: dict[int, Any], send: Callable[[Any], Awaitable[None]]) -> int:
        sent = 0
        for key, session in list(holders.items()):
            try:
                with trio.move_on_after(5):
                    await send(session)
                    sent += 1
            except Exception:  # the connection is gone or refuses: forget it, never fail the watcher
                holders.pop(key, None)
        return sent


def page_of(uri: str) -> uris.PageURI:
    """The page a subscription names; only page URIs can be subscribed to."""
    parsed = uris.parse_uri(uri)
    if not isinstance(parsed, uris.PageURI):
        raise InvalidArgumentError("only page resources (labarchives://notebooks/{id}/pages/{id}) can be subscribed to")
    return parsed


async def watch(
    get_service: Callable[[], Awaitable[NotebookService]],
    subscriptions: Subscriptions,
    interval: float,
    now: Callable[[], datetime],
    notebooks_may_change: bool,
) -> None:
    """Poll the change feed every ``interval`` seconds while anyone subscribed; runs until cancelled.

    Never ends the process: a start-up that failed leaves nothing to watch, and a failing poll is
    logged and tried again next interval.
    """
    while True:
        try:
            service = await get_service()
            break
        except StartupError:
            return
        except LabMCPError:
            await trio.sleep(interval)  # still starting
    since = now()
    notebook_ids = {nb.id for nb in service.scope.notebooks}
    seen: set[tuple[str, int | None]] = set()
    while True:
        await trio.sleep(interval)
        if not subscriptions:
            since, seen = now(), set()
            continue
        polled = now()
        try:
            with request_scope():
                if subscriptions.watched():
                    seen = await _pages_changed(service, subscriptions, since - OVERLAP, seen)
                if notebooks_may_change:
                    notebook_ids = await _notebooks_changed(service, subscriptions, notebook_ids)
        except LabMCPError as exc:
            log.warning("subscription poll failed: %s", exc)
            continue
        except Exception:
            log.exception("subscription poll failed unexpectedly; trying again next interval")
            continue
        since = polled


async def _pages_changed(
    service: NotebookService, subscriptions: Subscriptions, since: datetime, seen: set[tuple[str, int | None]]
) -> set[tuple[str, int | None]]:
    pages, _ = await service.changes.changed_pages(since)
    now_seen: set[tuple[str, int | None]] = set()
    for page in pages:
        fresh = [e for e in page.entries if (e.eid, e.version) not in seen]
        now_seen.update((e.eid, e.version) for e in page.entries)
        if not fresh:
            continue
        nbid, page_id = page.located.notebook.id, page.located.node.tree_id
        service.forget_page(nbid, page_id)
        uri = uris.page_uri(nbid, page_id)
        if uri in subscriptions.watched():
            sent = await subscriptions.updated(uri)
            log.info("page changed upstream: told %d subscriber(s)", sent)
    return now_seen


async def _notebooks_changed(service: NotebookService, subscriptions: Subscriptions, known: set[str]) -> set[str]:
    current = await service.refresh_notebooks()
    ids = {nb.id for nb in current}
    if ids != known:
        sent = await subscriptions.list_changed()
        log.info("the notebook list changed: told %d connection(s)", sent)
    return ids
