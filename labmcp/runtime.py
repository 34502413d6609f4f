"""The process's state as the health listener reports it, and the watchers that change it.

``Runtime`` holds readiness, LabArchives' health (a warning and ``labmcp_upstream_up``, never
readiness), metrics and the shutdown event; ``watch_signals`` turns SIGINT/SIGTERM into a drain or
an immediate stop; ``watch_upstream`` keeps LabArchives' health current while the process serves.
"""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING

import trio

from labmcp.config import Settings
from labmcp.errors import LabArchivesError
from labmcp.labarchives.client import LabArchivesClient
from labmcp.observe import NullObserver, Observer
from labmcp.server.app import TEMPLATES
from labmcp.server.catalog import TOOLS
from labmcp.server.deadline import Deadlines
from labmcp.server.prompts import prompt_list

if TYPE_CHECKING:
    from labmcp.transports.health import Readiness
    from labmcp.transports.metrics import Metrics

log = logging.getLogger("labmcp")

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


async def watch_signals(runtime: Runtime, cancel_scope: trio.CancelScope) -> None:
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


async def watch_upstream(runtime: Runtime, client: LabArchivesClient) -> None:
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
