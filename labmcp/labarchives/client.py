"""The LabArchives client: the one module that does HTTP (with httpx), over the pure protocol.

Why httpx and not the SDK's ``httpx2`` fork: the design card names httpx, its trio support is
mature, and keeping the upstream client independent of the SDK's pins lets either move alone.
This is the only module that imports it.

Every call goes through the pacer (serialised, spaced, §5.4), is retried only for connection
errors, timeouts and 5xx with exponential back-off, re-syncs the clock once on 4504 (§2.4), and
reads at most a capped number of bytes. Errors never carry the URL, the signature or the token.
"""

from __future__ import annotations

import email.message
import logging
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

import httpx
import trio

from labmcp import __version__
from labmcp.config import LabArchivesSettings
from labmcp.digits import digits_or_none
from labmcp.errors import AuthenticationError, LabArchivesError, UpstreamError, UpstreamTimeoutError
from labmcp.labarchives import decode, progress, protocol, quota, wire
from labmcp.labarchives.cache import ByteCache
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
from labmcp.labarchives.policy import Pacer, RetryPolicy
from labmcp.observe import UpstreamObserver
from labmcp.secret import Secret

log = logging.getLogger("labmcp.upstream")

CHUNK: Final = wire.CHUNK


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    content_type: str
    content_disposition: str
    content_length: int | None
    body: bytes
    truncated: bool


class _Retryable(Exception):
    """An attempt failed in a way worth repeating (connection, timeout, 5xx)."""

    def __init__(self, error: LabArchivesError, reason: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.reason = reason


def _filename(disposition: str) -> str:
    """The filename of a ``Content-Disposition`` header, ``filename*=`` (RFC 5987) included (§7.3)."""
    if not disposition:
        return ""
    msg = email.message.Message()
    msg["content-disposition"] = disposition
    name = msg.get_filename() or ""
    return name.replace("/", "_").replace("\\", "_").strip()


_MEDIA_TYPE: Final = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}")


def _media_type(header: str) -> str:
    """The ``type/subtype`` of a Content-Type header, lower-cased; anything else (upstream text that
    would reach a tool result) becomes ``application/x-invalid``; an absent header is empty."""
    value = header.partition(";")[0].strip().lower()
    if not value:
        return ""
    return value if _MEDIA_TYPE.fullmatch(value) else "application/x-invalid"


class LabArchivesClient:
    """Read calls of the LabArchives ELN API for one akid and one user."""

    def __init__(
        self,
        settings: LabArchivesSettings,
        http: httpx.AsyncClient,
        observer: UpstreamObserver,
        *,
        wall_clock_ms: Callable[[], int] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self._settings = settings
        self._http = http
        self._observer = observer
        self._wall_ms = wall_clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._offset_ms = 0
        self._uid: str | None = settings.uid
        self._pacer = pacer or Pacer(settings.request_interval, observer.pacing_wait)
        self._retry = RetryPolicy(settings.max_attempts, settings.retry_backoff)
        self.cache = ByteCache(settings.cache_ttl, settings.cache_bytes, trio.current_time)
        self._secrets = [s for s in (settings.secret.reveal(), settings.token.reveal() if settings.token else "") if s]
        self.clock_synced = False
        self.last_success: float | None = None
        self.last_failure: str | None = None
        self.last_failure_at: float | None = None

    # --- identity and clock -------------------------------------------------------------------

    @property
    def uid(self) -> str:
        if self._uid is None:
            raise AuthenticationError("no LabArchives uid: call start() first")
        return self._uid

    @property
    def clock_offset_ms(self) -> int:
        return self._offset_ms

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
        sibling._offset_ms = self._offset_ms
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
        root = await self._xml(protocol.Call.of("utilities", "epoch_time"), resync=False)
        after = self._wall_ms()
        server = decode.decode_epoch_time(root)
        self._offset_ms = server - (before + after) // 2
        self.clock_synced = True
        log.info("clock synced with LabArchives: offset %+d ms", self._offset_ms)
        return self._offset_ms

    async def user_access_info(self, email_address: str, token: Secret) -> User:
        """Redeem a login email and app token for the user and their notebooks (§2.5 B)."""
        call = protocol.Call.of(
            "users", "user_access_info", {"login_or_email": email_address, "password": token.reveal()}
        )
        secrets = [token.reveal()]
        return decode.decode_user(await self._xml(call, extra_secrets=secrets), "user_access_info")

    async def user_info(self) -> User:
        """The user and their notebooks by uid (``user_info_via_id``, §6.1), cached."""
        cached = self.cache.get(("user",))
        self._observer.cache("user", cached is not None)
        if isinstance(cached, User):
            return cached
        call = protocol.Call.of("users", "user_info_via_id", {"uid": self.uid})
        user = decode.decode_user(await self._xml(call), "user_info_via_id")
        self.cache.put(("user",), user)
        return user

    async def notebooks(self) -> tuple[NotebookRef, ...]:
        return (await self.user_info()).notebooks

    async def max_file_size(self) -> int | None:
        call = protocol.Call.of("users", "max_file_size", {"uid": self.uid})
        return decode.decode_max_file_size(await self._xml(call))

    # --- notebooks and tree --------------------------------------------------------------------

    async def notebook_info(self, nbid: str) -> NotebookInfo:
        call = protocol.Call.of("notebooks", "notebook_info", {"uid": self.uid, "nbid": nbid})
        return decode.decode_notebook_info(await self._xml(call))

    async def get_tree_level(self, nbid: str, parent_tree_id: str = ROOT_TREE_ID) -> tuple[TreeNode, ...]:
        """Children of a folder (``0`` = root), cached; unreadable nodes are omitted upstream."""
        key = ("tree", nbid, parent_tree_id)
        cached = self.cache.get(key)
        self._observer.cache("tree_level", cached is not None)
        if isinstance(cached, tuple):
            return cached
        params = {"uid": self.uid, "nbid": nbid, "parent_tree_id": parent_tree_id}
        level = decode.decode_tree_level(await self._xml(protocol.Call.of("tree_tools", "get_tree_level", params)))
        self.cache.put(key, level)
        return level

    async def get_node(self, nbid: str, tree_id: str) -> NodeDetails:
        """One node by id (§6.3), not cached: the scope's placement index keeps what it needs."""
        params = {"uid": self.uid, "nbid": nbid, "tree_id": tree_id}
        return decode.decode_node(await self._xml(protocol.Call.of("tree_tools", "get_node", params)))

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
        page = decode.decode_page_entries(await self._xml(call))
        self.cache.put(key, page)
        return page

    # --- entries --------------------------------------------------------------------------------

    async def entry_info(self, eid: str, entry_data: bool = False) -> Entry:
        params: dict[str, str | int | bool | None] = {"uid": self.uid, "eid": eid, "entry_data": entry_data}
        return decode.decode_entry_info(await self._xml(protocol.Call.of("entries", "entry_info", params)))

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
        download = await self._download(
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
        return await self._download(
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
        self.cache.forget(lambda key: key == ("user",))

    def forget_page(self, nbid: str, page_id: str) -> int:
        """Drop a changed page's cached entries and whatever was derived from them (memo keys that
        name the page right after their kind, e.g. a rendered page), so the next read is fresh."""

        def stale(key: Hashable) -> bool:
            if not isinstance(key, tuple):
                return False
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
        root = await self._xml(protocol.Call.of("search_tools", "entry_search", params))
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
        root = await self._xml(protocol.Call.of("search_tools", "attachment_search", params))
        return decode.decode_search(root, "attachment_search") if root is not None else SearchResults((), 0, 0)

    async def modified_since(self, since: datetime, nbid: str | None = None, max_to_return: int = 500) -> SearchResults:
        """Entries changed after ``since`` (UTC), newest first; never cached: it is the change feed (§6.5)."""
        params: dict[str, str | int | bool | None] = {
            "uid": self.uid,
            "since_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "nbid": nbid,
            "max_to_return": max_to_return,
        }
        root = await self._xml(protocol.Call.of("search_tools", "modified_since", params))
        return decode.decode_search(root, "modified_since") if root is not None else SearchResults((), 0, 0)

    async def epoch_time(self) -> int:
        return decode.decode_epoch_time(await self._xml(protocol.Call.of("utilities", "epoch_time"), resync=False))

    # --- the machinery ----------------------------------------------------------------------------

    async def _xml(
        self, call: protocol.Call, *, resync: bool = True, extra_secrets: list[str] | None = None
    ) -> ET.Element:
        """Perform a call and parse its XML; a search miss (404) yields an empty ``<search-tools>``.

        The body arrives whole or not at all (over ``LABARCHIVES_MAX_RESPONSE_BYTES`` on the wire
        or after any decoding step is an error); it is decoded in its declared charset and parsed
        with DTDs refused and the element count bounded (``decode.parse_xml``).
        """
        reply = await self._call(call, self._settings.max_response_bytes, resync=resync, extra_secrets=extra_secrets)
        if reply.status == 404 and call.method in protocol.SEARCH_METHODS:
            return ET.Element("search-tools")
        ctype = _media_type(reply.content_type)
        if ctype and "xml" not in ctype:
            raise UpstreamError(
                f"LabArchives {call.method} answered with content type {ctype!r} instead of XML", method=call.method
            )
        text = wire.decode_xml_text(reply.body, reply.content_type, call.method)
        del reply
        return decode.parse_xml(text, call.method)

    async def _download(self, call: protocol.Call, max_bytes: int) -> Download:
        reply = await self._call(call, max_bytes, resync=True, extra_secrets=None, partial=True)
        if protocol.is_error_document(reply.body):
            code, desc = protocol.parse_error_body(reply.body, self._secrets)
            if code is None:
                raise UpstreamError(
                    f"LabArchives {call.method} sent an <error> document instead of the file", method=call.method
                )
            raise protocol.error_for(call.method, reply.status, code, desc)
        ctype = _media_type(reply.content_type) or "application/octet-stream"
        return Download(
            filename=_filename(reply.content_disposition),
            content_type=ctype,
            data=reply.body,
            truncated=reply.truncated,
            size=reply.content_length,
        )

    async def _call(
        self,
        call: protocol.Call,
        max_bytes: int,
        *,
        resync: bool,
        extra_secrets: list[str] | None,
        partial: bool = False,
    ) -> _Reply:
        """Paced attempts with retries; 4504 re-syncs the clock once and retries once (§2.4).

        Every attempt is charged to the request being served (``quota``), retries included.
        """
        secrets = self._secrets + (extra_secrets or [])
        failed = 0
        resynced = False
        cost = quota.current()
        while True:
            if cost is not None:
                cost.charge(call.method, self._settings.max_calls_per_request)
            try:
                reply = await self._attempt(call, max_bytes, secrets, partial)
            except _Retryable as exc:
                failed += 1
                if not self._retry.should_retry(failed, retryable=True):
                    self._failed(exc.error)
                    raise exc.error from None
                delay = self._retry.delay(failed)
                self._observer.retry(call.method, exc.reason)
                log.warning("LabArchives %s: %s; retry %d in %.1fs", call.method, exc.reason, failed, delay)
                await trio.sleep(delay)
                continue
            except LabArchivesError as exc:
                if resync and not resynced and protocol.is_clock_rejection(exc.code, str(exc)):
                    resynced = True
                    log.warning("LabArchives rejected expires (%s): re-syncing the clock once", exc.code)
                    await self.sync_clock()
                    continue
                if isinstance(exc, AuthenticationError):
                    self._failed(exc)
                raise
            self.last_success = trio.current_time()
            return reply

    def _failed(self, error: LabArchivesError) -> None:
        """Remember failures that say LabArchives is unusable (for readiness), not per-item errors."""
        self.last_failure = str(error)
        self.last_failure_at = trio.current_time()

    @property
    def upstream_healthy(self) -> bool:
        """The most recent call that could tell succeeded."""
        if self.last_success is None:
            return False
        return self.last_failure_at is None or self.last_success > self.last_failure_at

    async def _attempt(self, call: protocol.Call, max_bytes: int, secrets: list[str], partial: bool) -> _Reply:
        settings = self._settings
        # Told before taking a turn, never while holding it: a slow client must not stall the pacer.
        ahead = self._pacer.queued
        if ahead:
            await progress.step(f"waiting for LabArchives: {ahead} call{'s' if ahead > 1 else ''} ahead of you")
        else:
            await progress.step(f"asking LabArchives ({call.method})")
        async with self._pacer.turn():
            url = protocol.build_url(
                settings.api_base,
                call,
                settings.akid,
                settings.secret.reveal(),
                protocol.corrected_expires(self._wall_ms(), self._offset_ms),
            )
            started = trio.current_time()
            outcome = "ok"
            try:
                # A body that trickles forever must not hold the pacer: one deadline per attempt.
                with trio.fail_after(settings.connect_timeout + 2 * settings.read_timeout):
                    reply = await self._fetch(url, max_bytes, partial)
            except wire.BodyTooLarge as exc:
                outcome = "too_large"
                setting = "LABARCHIVES_MAX_DOWNLOAD_BYTES" if partial else "LABARCHIVES_MAX_RESPONSE_BYTES"
                raise UpstreamError(
                    f"LabArchives {call.method} answered with more than {exc.cap} bytes ({exc.stage}); "
                    f"refused at the {setting} cap",
                    method=call.method,
                ) from None
            except wire.BadBody as exc:
                outcome = "bad_body"
                raise UpstreamError(f"LabArchives {call.method} {exc}; refused", method=call.method) from None
            except trio.TooSlowError:
                outcome = "timeout"
                raise _Retryable(
                    UpstreamTimeoutError(f"LabArchives {call.method} timed out", method=call.method), "timeout"
                ) from None
            except httpx.TimeoutException as exc:
                outcome = "timeout"
                phase = "connecting" if isinstance(exc, httpx.ConnectTimeout) else "waiting for the answer"
                raise _Retryable(
                    UpstreamTimeoutError(f"LabArchives {call.method} timed out {phase}", method=call.method), "timeout"
                ) from None
            except (httpx.TransportError, OSError) as exc:
                outcome = "connect_error"
                detail = protocol.scrub(type(exc).__name__, secrets)
                raise _Retryable(
                    UpstreamError(
                        f"cannot reach LabArchives for {call.method} ({detail}: connection failed or was reset)",
                        method=call.method,
                    ),
                    "connect_error",
                ) from None
            finally:
                elapsed = trio.current_time() - started
                if outcome != "ok":
                    self._observer.upstream_call(call.method, outcome, elapsed)
            if reply.status == 200:
                self._observer.upstream_call(call.method, "ok", elapsed)
                log.debug("LabArchives %s/%s -> 200 in %.3fs", call.api_class, call.method, elapsed)
                return reply
            code, desc = protocol.parse_error_body(reply.body, secrets)
            self._observer.upstream_call(call.method, f"error_{code}" if code else f"http_{reply.status}", elapsed)
            log.debug(
                "LabArchives %s/%s -> %d (code %s) in %.3fs", call.api_class, call.method, reply.status, code, elapsed
            )
            if protocol.is_search_miss(call.method, reply.status, code):
                return reply
            error = protocol.error_for(call.method, reply.status, code, desc)
            if protocol.is_retryable_status(reply.status):
                raise _Retryable(error, f"http_{reply.status}")
            raise error

    async def _fetch(self, url: str, max_bytes: int, partial: bool) -> _Reply:
        """One GET, read raw (httpx never inflates for us) through ``wire.BoundedBody``.

        A 200 body over the cap raises ``wire.BodyTooLarge``, or, for a ``partial`` download,
        keeps its first ``max_bytes`` and says ``truncated``. Error bodies keep their first
        ``ERROR_BODY_BYTES``, which is all the error parser looks at.
        """
        async with self._http.stream("GET", url) as response:
            ok = response.status_code == 200
            cap = max_bytes if ok else protocol.ERROR_BODY_BYTES
            keep_prefix = partial or not ok
            length_header = response.headers.get("content-length", "")
            length = digits_or_none(length_header)
            encoding = response.headers.get("content-encoding", "")
            body = wire.BoundedBody(encoding, cap)
            truncated = False
            try:
                if not keep_prefix:
                    body.expect(length)
                async for chunk in response.aiter_raw(CHUNK):
                    body.feed(chunk)
                data = body.finish()
            except wire.BodyTooLarge:
                if not keep_prefix:
                    raise
                truncated = True
                data = body.prefix()
            return _Reply(
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                content_disposition=response.headers.get("content-disposition", ""),
                content_length=length,
                body=data,
                truncated=truncated,
            )


@asynccontextmanager
async def open_client(settings: LabArchivesSettings, observer: UpstreamObserver) -> AsyncIterator[LabArchivesClient]:
    """A client with its own HTTP connection pool, closed on exit. Redirects are not followed."""
    timeout = httpx.Timeout(
        connect=settings.connect_timeout,
        read=settings.read_timeout,
        write=settings.read_timeout,
        pool=settings.connect_timeout + settings.read_timeout,
    )
    async with httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        trust_env=True,  # proxies (HTTPS_PROXY, NO_PROXY) are how many labs reach the internet
        # Calls are serialised by the pacer: one connection does, a few more cover a slow close.
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=1),
        # We ask for no compression; a middlebox that compresses anyway is inflated by wire.py, bounded.
        headers={
            "User-Agent": f"labmcp/{__version__}",
            "Accept": "application/xml, */*",
            "Accept-Encoding": "identity",
        },
    ) as http:
        yield LabArchivesClient(settings, http, observer)
