"""One call to LabArchives over HTTP: the one module that imports httpx, and the only I/O of the client.

Why httpx and not the SDK's ``httpx2`` fork: the design card names httpx, its trio support is
mature, and keeping the upstream client independent of the SDK's pins lets either move alone.

Every call goes through the pacer (serialised, spaced, §5.4), is retried only for connection
errors, timeouts and 5xx with exponential back-off, re-syncs the clock once on 4504 (§2.4), and
reads at most a capped number of bytes. Errors never carry the URL, the signature or the token.
``labmcp.labarchives.client`` builds each call and decodes its answer.
"""

from __future__ import annotations

import email.message
import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final

import httpx
import trio

from labmcp import __version__
from labmcp.config import LabArchivesSettings
from labmcp.digits import digits_or_none
from labmcp.errors import AuthenticationError, LabArchivesError, UpstreamError, UpstreamTimeoutError
from labmcp.labarchives import decode, progress, protocol, quota, wire
from labmcp.labarchives.models import Download
from labmcp.labarchives.policy import Pacer, RetryPolicy
from labmcp.observe import UpstreamObserver

log = logging.getLogger("labmcp.upstream")

CHUNK: Final = wire.CHUNK
HTTPClient = httpx.AsyncClient
"""The connection pool a client is handed (``open_http`` makes one; tests may pass their own)."""


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


class Caller:
    """Paced, retried, bounded calls for one client; remembers whether LabArchives answers (for health)."""

    def __init__(
        self,
        settings: LabArchivesSettings,
        http: HTTPClient,
        observer: UpstreamObserver,
        wall_ms: Callable[[], int],
        pacer: Pacer,
        resync: Callable[[], Awaitable[object]],
    ) -> None:
        self._settings = settings
        self._http = http
        self._observer = observer
        self._wall_ms = wall_ms
        self._pacer = pacer
        self._resync = resync
        self._retry = RetryPolicy(settings.max_attempts, settings.retry_backoff)
        self._secrets = [s for s in (settings.secret.reveal(), settings.token.reveal() if settings.token else "") if s]
        self.offset_ms = 0
        """LabArchives' clock minus ours, in ms, as the last ``epoch_time`` sync measured it."""
        self.last_success: float | None = None
        self.last_failure: str | None = None
        self.last_failure_at: float | None = None

    async def xml(
        self, call: protocol.Call, *, resync: bool = True, extra_secrets: list[str] | None = None
    ) -> ET.Element:
        """Perform a call and parse its XML; a search miss (404) yields an empty ``<search-tools>``.

        The body arrives whole or not at all (over ``LABARCHIVES_MAX_RESPONSE_BYTES`` on the wire
        or after any decoding step is an error); it is decoded in its declared charset as it is parsed,
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
        return decode.parse_xml(reply.body, call.method, reply.content_type)

    async def download(self, call: protocol.Call, max_bytes: int) -> Download:
        """A file's bytes (at most ``max_bytes``, the rest cut and marked ``truncated``) with its declared
        name and type; an ``<error>`` document in place of the file is the LabArchives error it names."""
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
                    await self._resync()
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
                protocol.corrected_expires(self._wall_ms(), self.offset_ms),
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
async def open_http(settings: LabArchivesSettings) -> AsyncIterator[HTTPClient]:
    """The client's own HTTP connection pool, closed on exit. Redirects are not followed."""
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
        yield http
