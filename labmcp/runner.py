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
import signal
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

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
from labmcp.observe import NullObserver, Observer
from labmcp.server.app import TEMPLATES, build_server
from labmcp.server.deadline import Deadlines
from labmcp.server.prompts import prompt_list
from labmcp.server.subscriptions import Subscriptions, watch
from labmcp.server.arguments import ToolLimits
from labmcp.server.catalog import TOOLS, enabled_tools

if TYPE_CHECKING:
    from labmcp.transports.health import Readiness
    from labmcp.transports.metrics import Metrics

log = logging.getLogger("labmcp")
T = TypeVar("T")

START_RETRY_MAX = 60.0
START_WAIT = 30.0
"""How long a request waits for start-up before it is answered with "still starting"."""
UPSTREAM_STALE = 60.0


class Runtime:
    """Process-wide state the health listener reports: readiness, metrics, start time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = trio.current_time()
        self.shutdown = trio.Event()
        self.deadlines = Deadlines(settings.request_timeout)
        self.serving = False
        self.observer: Observer = NullObserver()
        self.readiness: Readiness | None = None
        self.metrics: Metrics | None = None
        self.upstream_ok = False
        if settings.http.health_port is not None:
            from labmcp.transports.health import Readiness  # noqa: PLC0415  # only with a health port
            from labmcp.transports.metrics import Metrics  # noqa: PLC0415

            readiness = self.readiness = Readiness()
            readiness.set("config", True)
            readiness.set("startup", False, "starting: connecting to LabArchives")
            readiness.note("labarchives", False, "connecting")
            targets = [t.name for t in TOOLS] + [p.name for p in prompt_list()] + [t[0] for t in TEMPLATES]
            targets += ["notebooks", "invalid", "notebook_id", "folder_id", "page_id", "page_a", "page_b"]
            self.observer = self.metrics = Metrics(
                settings.server_version, lambda: readiness.ready, upstream_up=lambda: self.upstream_ok, targets=targets
            )

    def ready(self, name: str, ok: bool, reason: str = "") -> None:
        if self.readiness is not None:
            self.readiness.set(name, ok, reason)

    def upstream(self, ok: bool, reason: str = "") -> None:
        """LabArchives' health: a warning on the health routes and ``labmcp_upstream_up``, never readiness."""
        self.upstream_ok = ok
        if self.readiness is not None:
            self.readiness.note("labarchives", ok, reason)

    def info(self) -> dict[str, object]:
        return {
            "name": self.settings.server_name,
            "version": self.settings.server_version,
            "transport": self.settings.transport,
            "demo": self.settings.demo,
            "uptime_seconds": round(trio.current_time() - self.started, 3),
        }

    def begin_shutdown(self) -> None:
        """Stop at once: readiness 503, requests cut at the end of the grace period, listeners close."""
        if self.readiness is not None:
            self.readiness.shutting_down()
        self.deadlines.shutting_down(self.settings.http.shutdown_grace)
        self.shutdown.set()

    async def drain(self) -> None:
        """Graceful HTTP shutdown: readiness reports 503 for the shutdown delay while the listener
        still serves (so load balancers stop sending before connections are refused), then calls get
        the grace period and any still running is answered with an error."""
        if self.readiness is not None:
            self.readiness.shutting_down()
        await trio.sleep(self.settings.http.shutdown_delay)
        self.begin_shutdown()


async def _watch_signals(runtime: Runtime, cancel_scope: trio.CancelScope) -> None:
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            log.info("received %s: shutting down", signal.Signals(signum).name)
            if runtime.settings.transport == "stdio" or not runtime.serving:
                runtime.begin_shutdown()
                cancel_scope.cancel()
                return
            break
        # HTTP drains on its own within the grace period; a second signal forces the exit.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(runtime.drain)
            async for _ in signals:
                cancel_scope.cancel()
                return


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


async def _watch_upstream(runtime: Runtime, client: LabArchivesClient) -> None:
    """Keep LabArchives' health (warning and metric) true only while recent calls succeed."""
    interval = runtime.settings.http.readiness_interval
    while True:
        now = trio.current_time()
        recent = client.last_success is not None and now - client.last_success < max(UPSTREAM_STALE, interval)
        if not (client.upstream_healthy and recent):
            try:
                await client.epoch_time()
            except LabArchivesError as exc:
                log.debug("upstream check failed: %s", exc)
        if client.upstream_healthy:
            runtime.upstream(True)
        else:
            runtime.upstream(False, f"LabArchives unavailable: {client.last_failure or 'no answer'}")
        await trio.sleep(interval)


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
                nursery.start_soon(_watch_upstream, runtime, client)

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
                nursery.start_soon(_watch_upstream, runtime, client)

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
        nursery.start_soon(_watch_signals, runtime, nursery.cancel_scope)
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
