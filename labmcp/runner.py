"""Assemble the server from settings and run it: one trio nursery holds every task of the process.

Order of start: health listener (if asked, so liveness answers during start-up) -> the built-in
fake (demo) -> LabArchives client (clock sync, uid) -> scope -> notebook service -> MCP server ->
transport. SIGINT/SIGTERM: readiness flips to 503 first and stays so for the shutdown delay while
the HTTP transport still serves; then it stops accepting and drains in-flight requests within the
grace period (a call still running then is answered with an error), and the process exits 0.

Readiness says whether this process can serve: it is 503 until the first start attempt has
settled and while shutting down. LabArchives being unreachable does not withdraw it (every replica
would drop out of the load balancer at once and clients would get proxy errors instead of our tool
error); it is a warning on the health routes and ``labmcp_upstream_up`` 0 for the alert rules.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import trio

from labmcp.config import LabArchivesSettings, Settings
from labmcp.errors import (
    AuthenticationError,
    ConfigError,
    LabArchivesError,
    LabMCPError,
    StartupError,
    UpstreamError,
)
from labmcp.labarchives.client import LabArchivesClient, open_client
from labmcp.notebook.links import Links
from labmcp.notebook.placement import PlacementIndex
from labmcp.notebook.scope import resolve_scope
from labmcp.notebook.service import NotebookService, content_limit
from labmcp.runtime import Runtime, watch_signals, watch_upstream
from labmcp.server.app import build_server
from labmcp.server.arguments import ToolLimits
from labmcp.server.catalog import enabled_tools
from labmcp.server.subscriptions import Subscriptions, watch

log = logging.getLogger("labmcp")
T = TypeVar("T")

START_RETRY_MAX = 60.0
START_WAIT = 30.0
"""How long a request waits for start-up before it is answered with "still starting"."""


async def scoped_service(
    settings: Settings, labarchives: LabArchivesSettings, client: LabArchivesClient, user: str = "", share: int = 1
) -> NotebookService:
    """The notebook service of the client's user, with the administrator's scope resolved for them;
    in OAuth mode each user's placement index holds ``1/share`` of the configured bytes."""
    index = PlacementIndex(labarchives.cache_ttl, settings.scope.placement_bytes // share, trio.current_time)
    scope = await resolve_scope(client, settings.scope, index)
    return NotebookService(
        client, scope, settings.output, Links(labarchives.web_host), labarchives.max_download_bytes, user=user
    )


async def build_service(
    settings: Settings, labarchives: LabArchivesSettings, client: LabArchivesClient
) -> NotebookService:
    """Identity, clock and scope: everything that must hold before the first request is served."""
    await client.start()
    return await scoped_service(settings, labarchives, client)


async def _start(runtime: Runtime, work: Callable[[], Awaitable[T]], gate: StartGate[Any]) -> T:
    """Run start-up ``work``; in HTTP mode an unreachable LabArchives is retried while the pod serves
    (ready, answering tool calls with the reason)."""
    delay = 1.0
    while True:
        try:
            return await work()
        except (ConfigError, AuthenticationError):
            raise
        except LabArchivesError as exc:
            if runtime.settings.transport != "http":
                raise
            runtime.upstream(False, f"cannot start: {exc}")
            gate.status = f"cannot reach LabArchives yet: {exc}"
            gate.retrying = True
            runtime.ready("startup", True)
            log.warning("cannot start yet (%s); retrying in %.0fs", exc, delay)
            await trio.sleep(delay)
            delay = min(delay * 2, START_RETRY_MAX)


class StartGate(Generic[T]):
    """What start-up produced (the notebook service; in OAuth mode only "the clock is synced");
    requests that need notebook data wait here.

    The transport serves from the first moment (``initialize`` and ``tools/list`` need no
    LabArchives call), so a client is not kept waiting for the clock sync, uid and scope.
    """

    def __init__(self) -> None:
        self._done = trio.Event()
        self._opened = False
        self._service: T | None = None
        self._error: LabMCPError | None = None
        self.status = "connecting to LabArchives"
        self.retrying = False
        """A start attempt failed and is being retried: answer at once instead of waiting."""

    def open(self, service: T) -> None:
        self._service = service
        self._opened = True
        self._done.set()

    def fail(self, error: LabMCPError) -> None:
        self._error = error
        self._done.set()

    async def settled(self) -> None:
        """Wait until start-up succeeded or failed."""
        await self._done.wait()

    async def get(self) -> T:
        if not self.retrying:
            with trio.move_on_after(START_WAIT):
                await self._done.wait()
        if self._opened:
            return self._service  # type: ignore[return-value]  # T itself may be None
        if self._error is not None:
            what = "configuration error" if isinstance(self._error, ConfigError) else "LabArchives refused the start"
            raise StartupError(
                f"labmcp could not start ({what}): {self._error}. Fix the setting, then restart the server "
                "(in Claude Desktop: quit and reopen the app)."
            ) from self._error
        raise UpstreamError(f"the server is still starting ({self.status}); try again shortly")


async def _serve(runtime: Runtime, labarchives: LabArchivesSettings, limits: ToolLimits) -> int:
    settings = runtime.settings
    if settings.auth.mode == "oauth":
        return await _serve_oauth(runtime, labarchives, limits)
    gate: StartGate[NotebookService] = StartGate()
    code = 0
    async with open_client(labarchives, runtime.observer) as client, trio.open_nursery() as nursery:

        async def start() -> None:
            nonlocal code
            try:
                service = await _start(runtime, lambda: build_service(settings, labarchives, client), gate)
            except (ConfigError, LabArchivesError) as exc:
                code = 2 if isinstance(exc, ConfigError) else 1
                log.error("%s: %s", "configuration error" if code == 2 else "cannot start", exc)
                gate.fail(exc)
                if settings.transport == "http":
                    nursery.cancel_scope.cancel()
                # Over stdio the host (Claude Desktop) hides stderr: keep serving, so every data request
                # answers with the reason, and exit with the code once the host closes stdin.
                return
            gate.open(service)
            runtime.ready("startup", True)
            runtime.upstream(True)
            log.info(
                "serving %d notebook(s) over %s%s",
                len(service.scope.notebooks),
                settings.transport,
                " (demo data)" if settings.demo else "",
            )
            if runtime.readiness is not None:
                nursery.start_soon(watch_upstream, runtime, client)

        subscriptions = Subscriptions() if settings.subscription_interval > 0 else None
        server = build_server(
            lambda ctx: gate.get(),
            name=settings.server_name,
            version=settings.server_version,
            limits=limits,
            observer=runtime.observer,
            deadlines=runtime.deadlines,
            subscriptions=subscriptions,
        )
        nursery.start_soon(start)
        if subscriptions is not None:

            def upstream_now() -> datetime:
                return datetime.now(UTC) + timedelta(milliseconds=client.clock_offset_ms)

            nursery.start_soon(
                watch,
                gate.get,
                subscriptions,
                settings.subscription_interval,
                upstream_now,
                not settings.scope.restricted,
            )
        runtime.serving = True
        if settings.transport == "http":
            from labmcp.transports.http import serve_http  # noqa: PLC0415  # HTTP stack only when used

            await serve_http(server, settings.http, runtime.shutdown)
        else:
            from labmcp.transports.stdio import serve_stdio  # noqa: PLC0415

            await serve_stdio(server, server.create_initialization_options(), settings.http.max_body_bytes)
            # stdin closed during start-up: still report how start-up ended (exit code, message).
            with trio.move_on_after(START_WAIT):
                await gate.settled()
        nursery.cancel_scope.cancel()
    return code


async def _serve_oauth(runtime: Runtime, labarchives: LabArchivesSettings, limits: ToolLimits) -> int:
    """OAuth mode: no user at start-up; each request is served by its signed-in user's service."""
    from labmcp.auth.identity import SignedInUser, signed_in_user  # noqa: PLC0415  # OAuth mode only
    from labmcp.auth.registry import UserServices  # noqa: PLC0415
    from labmcp.auth.surface import OAuthSurface, serves  # noqa: PLC0415
    from labmcp.transports.guard import AuthHook  # noqa: PLC0415
    from labmcp.transports.http import serve_http  # noqa: PLC0415

    settings = runtime.settings
    gate: StartGate[None] = StartGate()
    code = 0
    async with open_client(labarchives, runtime.observer) as client, trio.open_nursery() as nursery:
        share = settings.auth.max_users

        async def build(user: SignedInUser) -> NotebookService:
            return await scoped_service(settings, labarchives, client.for_user(user.uid, share), user.pseudonym, share)

        users = UserServices(build, settings.auth.max_users)

        async def get_service(ctx: Any) -> NotebookService:
            user = signed_in_user(ctx.request)
            if user is None:
                raise AuthenticationError("this request carries no signed-in user")
            await gate.get()
            return await users.service(user)

        async def start() -> None:
            nonlocal code
            try:
                await _start(runtime, client.sync_clock, gate)
            except (ConfigError, LabArchivesError) as exc:
                code = 2 if isinstance(exc, ConfigError) else 1
                log.error("cannot start: %s", exc)
                gate.fail(exc)
                nursery.cancel_scope.cancel()
                return
            gate.open(None)
            runtime.ready("startup", True)
            runtime.upstream(True)
            log.info(
                "serving signed-in users over http (oauth, %s)", "stateless" if settings.http.stateless else "sessions"
            )
            if runtime.readiness is not None:
                nursery.start_soon(watch_upstream, runtime, client)

        surface = OAuthSurface(settings, client)
        server = build_server(
            get_service,
            name=settings.server_name,
            version=settings.server_version,
            limits=limits,
            observer=runtime.observer,
            deadlines=runtime.deadlines,
        )
        nursery.start_soon(start)
        runtime.serving = True
        hook = AuthHook(surface.principal, surface.challenge, serves, surface.public_host, surface.sdk_options())
        await serve_http(server, settings.http, runtime.shutdown, auth=hook)
        nursery.cancel_scope.cancel()
    return code


async def _demo_fake(nursery: trio.Nursery, labarchives: LabArchivesSettings) -> LabArchivesSettings:
    """Start the built-in fake with the demo lab and point the client at it."""
    from labmcp.fake.serve import FakeLabArchives  # noqa: PLC0415  # only the demo ships the fake

    fake = FakeLabArchives.demo()
    fake.config.web_pages_for = fake.credentials.uid  # citations in the demo open while it runs
    await nursery.start(fake.serve)
    creds = fake.credentials
    return replace(
        labarchives,
        api_base=fake.base_url,
        web_host=fake.base_url.removesuffix("/api"),
        akid=creds.akid,
        secret=creds.secret,
        uid=None,
        user=creds.email,
        token=creds.token,
        request_interval=0.0,
    )


async def run(settings: Settings) -> int:
    """Run until stdin closes (stdio), or a signal arrives; returns the process exit code."""
    try:
        limits = ToolLimits(
            content_limit(settings.output), settings.output.max_depth, enabled_tools(settings.output.tools)
        )
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        return 2
    runtime = Runtime(settings)
    code = 0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(watch_signals, runtime, nursery.cancel_scope)
        if runtime.metrics is not None and runtime.readiness is not None:
            from labmcp.transports.health import serve_health  # noqa: PLC0415

            metrics, readiness = runtime.metrics, runtime.readiness
            port = await nursery.start(
                lambda task_status=trio.TASK_STATUS_IGNORED: serve_health(
                    settings.http.health_host,
                    settings.http.health_port or 0,
                    metrics=metrics,
                    readiness=readiness,
                    info=runtime.info,
                    task_status=task_status,
                )
            )
            log.info("health and metrics on http://%s:%d/health", settings.http.health_host, port)
        # LabArchives' one-call-at-a-time rule is per akid: replicas sharing it each take their share.
        labarchives = replace(
            settings.labarchives, request_interval=settings.labarchives.request_interval * settings.auth.replicas
        )
        if settings.demo:
            labarchives = await _demo_fake(nursery, labarchives)
        code = await _serve(runtime, labarchives, limits)
        nursery.cancel_scope.cancel()
    return code
