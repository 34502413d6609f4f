"""The LabArchives client: each read call of the API (§6), built by the pure protocol, sent through
``labmcp.labarchives.caller`` (the one module that does HTTP), decoded into models and cached.

It also keeps the identity (uid, resolved once from email + token when not configured) and the
clock offset (``epoch_time``, §2.4) that signing needs, and hands out per-user siblings that share
its connection pool and pacer (OAuth mode).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Final

import trio

from labmcp.config import LabArchivesSettings
from labmcp.errors import AuthenticationError, UpstreamError
from labmcp.labarchives import decode, protocol
from labmcp.labarchives.cache import ByteCache
from labmcp.labarchives.caller import Caller, HTTPClient, open_http
from labmcp.labarchives.models import (
    ROOT_TREE_ID,
    Download,
    Entry,
    NodeDetails,
    NotebookInfo,
    NotebookRef,
    PageEntries,
    SearchResults,
    TreeNode,
    User,
)
from labmcp.labarchives.policy import Pacer
from labmcp.observe import UpstreamObserver
from labmcp.secret import Secret

log = logging.getLogger("labmcp.upstream")

SEARCH_MEMO: Final = "search"
"""The kind of memo key (``remember``) under which search answers are kept; a change drops them all."""


class LabArchivesClient:
    """Read calls of the LabArchives ELN API for one akid and one user."""

    def __init__(
        self,
        settings: LabArchivesSettings,
        http: HTTPClient,
        observer: UpstreamObserver,
        *,
        wall_clock_ms: Callable[[], int] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._observer = observer
        self._wall_ms = wall_clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._uid: str | None = settings.uid
        self._pacer = pacer or Pacer(settings.request_interval, observer.pacing_wait)
        self._caller = Caller(settings, http, observer, self._wall_ms, self._pacer, self.sync_clock)
        self.cache = ByteCache(settings.cache_ttl, settings.cache_bytes, trio.current_time)
        self.clock_synced = False

    # --- identity and clock -------------------------------------------------------------------

    @property
    def uid(self) -> str:
        if self._uid is None:
            raise AuthenticationError("no LabArchives uid: call start() first")
        return self._uid

    @property
    def clock_offset_ms(self) -> int:
        return self._caller.offset_ms

    @property
    def last_success(self) -> float | None:
        """When (trio time) a call last succeeded."""
        return self._caller.last_success

    @property
    def last_failure(self) -> str | None:
        """The last failure that said LabArchives is unusable."""
        return self._caller.last_failure

    @property
    def upstream_healthy(self) -> bool:
        """The most recent call that could tell succeeded."""
        return self._caller.upstream_healthy

    def for_user(self, uid: str, share: int = 1) -> LabArchivesClient:
        """A client for another user of the same akid (OAuth mode): its own uid and cache, holding
        ``1/share`` of the configured cache bytes, on this client's connection pool, clock offset and
        pacer, since LabArchives' one-call-at-a-time rule is per akid, not per user (§5.4)."""
        settings = replace(
            self._settings, uid=uid, user=None, token=None, cache_bytes=self._settings.cache_bytes // share
        )
        sibling = LabArchivesClient(
            settings, self._http, self._observer, wall_clock_ms=self._wall_ms, pacer=self._pacer
        )
        sibling._caller.offset_ms = self._caller.offset_ms
        sibling.clock_synced = self.clock_synced
        return sibling

    async def start(self) -> None:
        """Sync the clock, then resolve the uid from email + token when no uid was configured."""
        await self.sync_clock()
        if self._uid is None:
            if not self._settings.user or self._settings.token is None:
                raise AuthenticationError("no uid and no email + token to resolve one")
            user = await self.user_access_info(self._settings.user, self._settings.token)
            self._uid = user.uid
            self.cache.put(("user",), user)

    async def sync_clock(self) -> int:
        """Measure the offset to LabArchives' clock with ``epoch_time`` (akid only, §2.4)."""
        before = self._wall_ms()
        root = await self._caller.xml(protocol.Call.of("utilities", "epoch_time"), resync=False)
        after = self._wall_ms()
        server = decode.decode_epoch_time(root)
        offset = self._caller.offset_ms = server - (before + after) // 2
        self.clock_synced = True
        log.info("clock synced with LabArchives: offset %+d ms", offset)
        return offset

    async def user_access_info(self, email_address: str, token: Secret) -> User:
        """Redeem a login email and app token for the user and their notebooks (§2.5 B)."""
        call = protocol.Call.of(
            "users", "user_access_info", {"login_or_email": email_address, "password": token.reveal()}
        )
        secrets = [token.reveal()]
        return decode.decode_user(await self._caller.xml(call, extra_secrets=secrets), "user_access_info")

    async def user_info(self) -> User:
        """The user and their notebooks by uid (``user_info_via_id``, §6.1), cached."""
        cached = self.cache.get(("user",))
        self._observer.cache("user", cached is not None)
        if isinstance(cached, User):
            return cached
        call = protocol.Call.of("users", "user_info_via_id", {"uid": self.uid})
        user = decode.decode_user(await self._caller.xml(call), "user_info_via_id")
        self.cache.put(("user",), user)
        return user

    async def notebooks(self) -> tuple[NotebookRef, ...]:
        return (await self.user_info()).notebooks

    async def max_file_size(self) -> int | None:
        call = protocol.Call.of("users", "max_file_size", {"uid": self.uid})
        return decode.decode_max_file_size(await self._caller.xml(call))

    # --- notebooks and tree --------------------------------------------------------------------

    async def notebook_info(self, nbid: str) -> NotebookInfo:
        call = protocol.Call.of("notebooks", "notebook_info", {"uid": self.uid, "nbid": nbid})
        return decode.decode_notebook_info(await self._caller.xml(call))

    async def get_tree_level(self, nbid: str, parent_tree_id: str = ROOT_TREE_ID) -> tuple[TreeNode, ...]:
        """Children of a folder (``0`` = root), cached; unreadable nodes are omitted upstream."""
        key = ("tree", nbid, parent_tree_id)
        cached = self.cache.get(key)
        self._observer.cache("tree_level", cached is not None)
        if isinstance(cached, tuple):
            return cached
        params = {"uid": self.uid, "nbid": nbid, "parent_tree_id": parent_tree_id}
        level = decode.decode_tree_level(
            await self._caller.xml(protocol.Call.of("tree_tools", "get_tree_level", params))
        )
        self.cache.put(key, level)
        return level

    async def get_node(self, nbid: str, tree_id: str) -> NodeDetails:
        """One node by id (§6.3), not cached: the scope's placement index keeps what it needs."""
        params = {"uid": self.uid, "nbid": nbid, "tree_id": tree_id}
        return decode.decode_node(await self._caller.xml(protocol.Call.of("tree_tools", "get_node", params)))

    async def get_entries_for_page(
        self, nbid: str, page_tree_id: str, entry_data: bool = True, comment_data: bool = False
    ) -> PageEntries:
        """Entries of a page in order (``entry_data=true`` for content), cached."""
        key = ("page", nbid, page_tree_id, entry_data, comment_data)
        cached = self.cache.get(key)
        if cached is None and not entry_data:
            cached = self.cache.get(("page", nbid, page_tree_id, True, comment_data))
        self._observer.cache("page", cached is not None)
        if isinstance(cached, PageEntries):
            return cached
        params: dict[str, str | int | bool | None] = {
            "uid": self.uid,
            "nbid": nbid,
            "page_tree_id": page_tree_id,
            "entry_data": entry_data,
            "comment_data": comment_data or None,
        }
        call = protocol.Call.of("tree_tools", "get_entries_for_page", params)
        page = decode.decode_page_entries(await self._caller.xml(call))
        self.cache.put(key, page)
        return page

    # --- entries --------------------------------------------------------------------------------

    async def entry_info(self, eid: str, entry_data: bool = False) -> Entry:
        params: dict[str, str | int | bool | None] = {"uid": self.uid, "eid": eid, "entry_data": entry_data}
        return decode.decode_entry_info(await self._caller.xml(protocol.Call.of("entries", "entry_info", params)))

    async def entry_attachment(
        self, eid: str, max_bytes: int, *, version: int | None = None, listed_size: int | None = None
    ) -> Download:
        """The attachment's bytes, at most ``max_bytes`` (streamed; never written to disk).

        ``listed_size`` is the listing's ``attach-file-size``: a body that contradicts it (longer,
        or shorter without having been cut at the cap) or an empty body where content was listed
        is an UpstreamError, and is never cached. A verified download is cached by ``(eid,
        version)`` within the cache's byte budget, so every window of one file, and the resource
        read after it, cost one download; one cut at a smaller cap is not reused for a larger one.
        """
        key = ("file", eid, version)
        cached = self.cache.get(key)
        if isinstance(cached, tuple):
            download, cap = cached
            if isinstance(download, Download) and (
                (not download.truncated and len(download.data) <= max_bytes) or cap == max_bytes
            ):
                self._observer.cache("attachment", True)
                return download
        self._observer.cache("attachment", False)
        download = await self._caller.download(
            protocol.Call.of("entries", "entry_attachment", {"uid": self.uid, "eid": eid}), max_bytes
        )
        got = len(download.data)
        if listed_size is not None and (got > listed_size or (got < listed_size and not download.truncated)):
            raise UpstreamError(
                f"LabArchives entry_attachment sent {got} bytes for entry {eid!r}, but the listing says "
                f"{listed_size}; the download is not the file, refused",
                method="entry_attachment",
            )
        if got == 0 and listed_size != 0:
            raise UpstreamError(
                f"LabArchives entry_attachment sent an empty body for entry {eid!r}; refused", method="entry_attachment"
            )
        self.cache.put(key, (download, max_bytes))
        return download

    async def entry_thumb(self, eid: str, max_bytes: int) -> Download:
        return await self._caller.download(
            protocol.Call.of("entries", "entry_thumb", {"uid": self.uid, "eid": eid}), max_bytes
        )

    # --- what the layers above remember (one byte budget for everything) ---------------------------

    def remember(self, key: tuple[Hashable, ...], value: object, size: int | None = None) -> None:
        """Keep a derived value (a rendered page, an extracted document) in the byte-budgeted
        cache for its lifetime; ``size`` overrides the weighing when ``value`` shares objects
        cached elsewhere."""
        self.cache.put(("memo", *key), value, size)

    def recall(self, key: tuple[Hashable, ...]) -> object | None:
        return self.cache.get(("memo", *key))

    def forget_notebooks(self) -> None:
        """Drop the notebook list and every kept search answer (they may span notebooks)."""
        self.cache.forget(lambda key: key == ("user",) or (isinstance(key, tuple) and key[:2] == ("memo", SEARCH_MEMO)))

    def forget_page(self, nbid: str, page_id: str) -> int:
        """Drop a changed page's cached entries and whatever was derived from them (memo keys that
        name the page right after their kind, e.g. a rendered page), and every kept search answer
        (memo kind ``search``: any of them may show the page), so the next read is fresh."""

        def stale(key: Hashable) -> bool:
            if not isinstance(key, tuple):
                return False
            if key[:2] == ("memo", SEARCH_MEMO):
                return True
            return key[:3] == ("page", nbid, page_id) or (key[:1] == ("memo",) and key[2:4] == (nbid, page_id))

        return self.cache.forget(stale)

    # --- search ---------------------------------------------------------------------------------

    async def entry_search(
        self, query: str, nbid: str | None = None, page_size: int = 10, page_number: int = 0, entry_data: bool = True
    ) -> SearchResults:
        """LabArchives' own full-text search; ``page_number`` is zero-based (§6.5 [CODE])."""
        key = ("search", query, nbid, page_size, page_number, entry_data)
        cached = self.cache.get(key)
        self._observer.cache("search", cached is not None)
        if isinstance(cached, SearchResults):
            return cached
        params: dict[str, str | int | bool | None] = {
            "uid": self.uid,
            "query": query,
            "nbid": nbid,
            "page_size": page_size,
            "page_number": page_number,
            "entry_data": entry_data,
        }
        root = await self._caller.xml(protocol.Call.of("search_tools", "entry_search", params))
        results = decode.decode_search(root, "entry_search") if root is not None else SearchResults((), 0, 0)
        self.cache.put(key, results)
        return results

    async def attachment_search(
        self,
        terms: str = "",
        extension: str = "",
        nbid: str | None = None,
        max_to_return: int = 100,
        begin_date: str = "",
        end_date: str = "",
    ) -> SearchResults:
        """Attachments by ``extension`` (comma list, no dots), ``terms`` (AND-ed) and update time
        between ``begin_date`` and ``end_date`` (UTC, ``yyyy-mm-ddThh:mm:ssZ``; §6.5 names the
        parameters but not their format, so this is the format ``modified_since`` documents)."""
        params: dict[str, str | int | bool | None] = {
            "uid": self.uid,
            "terms": terms or None,
            "term_connector": "AND" if terms else None,
            "extension": extension or None,
            "begin_date": begin_date or None,
            "end_date": end_date or None,
            "nbid": nbid,
            "max_to_return": max_to_return,
        }
        root = await self._caller.xml(protocol.Call.of("search_tools", "attachment_search", params))
        return decode.decode_search(root, "attachment_search") if root is not None else SearchResults((), 0, 0)

    async def modified_since(self, since: datetime, nbid: str | None = None, max_to_return: int = 500) -> SearchResults:
        """Entries changed after ``since`` (UTC), newest first; never cached: it is the change feed (§6.5)."""
        params: dict[str, str | int | bool | None] = {
            "uid": self.uid,
            "since_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nbid": nbid,
            "max_to_return": max_to_return,
        }
        root = await self._caller.xml(protocol.Call.of("search_tools", "modified_since", params))
        return decode.decode_search(root, "modified_since") if root is not None else SearchResults((), 0, 0)

    async def epoch_time(self) -> int:
        return decode.decode_epoch_time(
            await self._caller.xml(protocol.Call.of("utilities", "epoch_time"), resync=False)
        )


@asynccontextmanager
async def open_client(settings: LabArchivesSettings, observer: UpstreamObserver) -> AsyncIterator[LabArchivesClient]:
    """A client with its own HTTP connection pool (``caller.open_http``), closed on exit."""
    async with open_http(settings) as http:
        yield LabArchivesClient(settings, http, observer)
