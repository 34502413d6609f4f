"""A tiny Prometheus registry: counts what the observers report and renders text format 0.0.4.

No ``prometheus_client``: the metric set is small and fixed, and its names are a contract with the
dashboards and alert rules. Label values come only from the observer arguments (method names,
outcomes, tool/prompt/template names, cache kinds), never from request arguments or responses, so
no id, text or secret can reach a label. Cardinality is bounded twice: targets outside the allowed
set collapse to ``other``, and each metric keeps at most ``max_series`` label sets, folding the
rest into one all-``other`` series. Single-threaded use (one trio thread) is assumed.
"""

from __future__ import annotations

import math
import os
import platform
import resource
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
OTHER = "other"
MAX_LABEL_LENGTH = 100
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def escape_label_value(value: str) -> str:
    """Escape a label value for the text format: backslash, double quote and newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """Escape HELP text: backslash and newline (quotes stay as they are)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value the way the Go client writes it: integers without ``.0``, and ``+Inf``/``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    pairs = [f'{n}="{escape_label_value(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        pairs.append(extra)
    return "{" + ",".join(pairs) + "}" if pairs else ""


class _Family:
    """One metric name with its label sets; folds label sets past the cap into ``other``."""

    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...], max_series: int) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = labelnames
        self.max_series = max_series

    def _key(self, values: tuple[str, ...], series: Collection[tuple[str, ...]]) -> tuple[str, ...]:
        values = tuple(OTHER if not v.isprintable() or len(v) > MAX_LABEL_LENGTH else v for v in values)
        if values in series or len(series) < self.max_series:
            return values
        return (OTHER,) * len(values)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]


class _Counter(_Family):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...], max_series: int) -> None:
        super().__init__(name, help_text, labelnames, max_series)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = self._key(labels, self.values.keys())
        self.values[key] = self.values.get(key, 0.0) + amount

    def lines(self) -> list[str]:
        out = self.header()
        out += [f"{self.name}{_labels(self.labelnames, k)} {format_value(v)}" for k, v in sorted(self.values.items())]
        return out


@dataclass(slots=True)
class _HistogramState:
    counts: list[int]
    total: float = 0.0
    count: int = 0


_LE_INF = 'le="+Inf"'


class _Histogram(_Family):
    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, labelnames: tuple[str, ...], max_series: int, buckets: tuple[float, ...]
    ) -> None:
        super().__init__(name, help_text, labelnames, max_series)
        self.buckets = buckets
        self.values: dict[tuple[str, ...], _HistogramState] = {}

    def observe(self, value: float, *labels: str) -> None:
        key = self._key(labels, self.values.keys())
        state = self.values.setdefault(key, _HistogramState([0] * len(self.buckets)))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                state.counts[i] += 1
        state.total += value
        state.count += 1

    def lines(self) -> list[str]:
        out = self.header()
        for key, state in sorted(self.values.items()):
            for bound, count in zip(self.buckets, state.counts, strict=True):
                le = f'le="{format_value(bound)}"'
                out.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {count}")
            out.append(f"{self.name}_bucket{_labels(self.labelnames, key, _LE_INF)} {state.count}")
            out.append(f"{self.name}_sum{_labels(self.labelnames, key)} {format_value(state.total)}")
            out.append(f"{self.name}_count{_labels(self.labelnames, key)} {state.count}")
        return out


def _gauge(name: str, help_text: str, value: float, labels: str = "") -> list[str]:
    return [f"# HELP {name} {escape_help(help_text)}", f"# TYPE {name} gauge", f"{name}{labels} {format_value(value)}"]


# --- process metrics: parsing is pure, reading /proc is the only I/O ---------------------------


@dataclass(frozen=True, slots=True)
class ProcessStats:
    """The standard process metrics; None where the platform cannot tell."""

    cpu_seconds: float | None = None
    resident_bytes: int | None = None
    virtual_bytes: int | None = None
    open_fds: int | None = None
    max_fds: int | None = None
    start_time: float | None = None


def parse_proc_stat(stat: str, *, boot_time: float | None, ticks: int, page_size: int) -> ProcessStats:
    """Read cpu time, memory and start time from the text of ``/proc/self/stat`` (proc(5))."""
    # The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
    utime, stime, start = int(fields[11]), int(fields[12]), int(fields[19])
    return ProcessStats(
        cpu_seconds=(utime + stime) / ticks,
        virtual_bytes=int(fields[20]),
        resident_bytes=int(fields[21]) * page_size,
        start_time=boot_time + start / ticks if boot_time is not None else None,
    )


def parse_boot_time(proc_stat: str) -> float | None:
    """The ``btime`` line of ``/proc/stat``: seconds since the epoch when the machine booted."""
    for line in proc_stat.splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return None


def parse_max_fds(limits: str) -> int | None:
    """The soft ``Max open files`` limit from ``/proc/self/limits``; None when unlimited or absent."""
    for line in limits.splitlines():
        if line.startswith("Max open files"):
            soft = line[len("Max open files") :].split()[0]
            return int(soft) if soft.isdigit() else None
    return None


def _count_fds(path: Path) -> int | None:
    try:
        return len(list(path.iterdir()))
    except OSError:
        return None


def read_process_stats() -> ProcessStats:
    """Process metrics from ``/proc/self`` on Linux, else what ``resource`` offers (macOS)."""
    proc = Path("/proc/self")
    try:
        stats = parse_proc_stat(
            (proc / "stat").read_text(),
            boot_time=parse_boot_time(Path("/proc/stat").read_text()),
            ticks=os.sysconf("SC_CLK_TCK"),
            page_size=resource.getpagesize(),
        )
        max_fds = parse_max_fds((proc / "limits").read_text())
        return ProcessStats(
            cpu_seconds=stats.cpu_seconds,
            resident_bytes=stats.resident_bytes,
            virtual_bytes=stats.virtual_bytes,
            open_fds=_count_fds(proc / "fd"),
            max_fds=max_fds,
            start_time=stats.start_time,
        )
    except (OSError, ValueError, IndexError):
        pass
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return ProcessStats(
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        open_fds=_count_fds(Path("/dev/fd")),
        max_fds=soft if soft != resource.RLIM_INFINITY else None,
    )


def _process_lines(stats: ProcessStats) -> list[str]:
    out: list[str] = []
    if stats.cpu_seconds is not None:
        out += [
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {format_value(stats.cpu_seconds)}",
        ]
    gauges = (
        ("process_resident_memory_bytes", "Resident memory size in bytes.", stats.resident_bytes),
        ("process_virtual_memory_bytes", "Virtual memory size in bytes.", stats.virtual_bytes),
        ("process_open_fds", "Number of open file descriptors.", stats.open_fds),
        ("process_max_fds", "Maximum number of open file descriptors.", stats.max_fds),
        ("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", stats.start_time),
    )
    for name, help_text, value in gauges:
        if value is not None:
            out += _gauge(name, help_text, value)
    return out


# --- the registry ------------------------------------------------------------------------------


class Metrics:
    """The registry; implements ``UpstreamObserver`` and ``RequestObserver`` (labmcp.observe).

    ``targets`` is the allowed set of MCP targets (tool, prompt, resource template and completion
    argument names); anything else a client names becomes ``other``. ``None`` leaves only the
    per-metric series cap as the guard. ``upstream_up`` reports whether LabArchives answers
    (``labmcp_upstream_up``), apart from readiness, which a LabArchives outage does not change.
    """

    def __init__(
        self,
        version: str,
        ready: Callable[[], bool],
        *,
        upstream_up: Callable[[], bool] | None = None,
        targets: Collection[str] | None = None,
        max_series: int = 200,
        process: Callable[[], ProcessStats] = read_process_stats,
        clock: Callable[[], float] = time.monotonic,
        python: str = platform.python_version(),
    ) -> None:
        self._version = version
        self._python = python
        self._ready = ready
        self._upstream_up = upstream_up
        self._targets = frozenset(targets) | {""} if targets is not None else None
        self._process = process
        self._clock = clock
        self._started = clock()
        self._in_flight = 0
        cap = max_series
        self._mcp_requests = _Counter(
            "labmcp_mcp_requests_total", "MCP requests answered.", ("method", "target", "outcome"), cap
        )
        self._mcp_duration = _Histogram(
            "labmcp_mcp_request_duration_seconds", "Time to answer an MCP request.", ("method",), cap, DURATION_BUCKETS
        )
        self._upstream_requests = _Counter(
            "labmcp_upstream_requests_total", "LabArchives API call attempts.", ("method", "outcome"), cap
        )
        self._upstream_duration = _Histogram(
            "labmcp_upstream_request_duration_seconds",
            "Duration of one LabArchives API call attempt.",
            ("method",),
            cap,
            DURATION_BUCKETS,
        )
        self._pacing = _Histogram(
            "labmcp_upstream_pacing_wait_seconds",
            "Time a LabArchives call waited for its turn under the minimum request interval.",
            (),
            cap,
            DURATION_BUCKETS,
        )
        self._retries = _Counter(
            "labmcp_upstream_retries_total", "LabArchives call attempts repeated.", ("method", "reason"), cap
        )
        self._cache = _Counter("labmcp_cache_lookups_total", "Cache lookups.", ("kind", "result"), cap)

    # UpstreamObserver

    def upstream_call(self, method: str, outcome: str, seconds: float) -> None:
        self._upstream_requests.inc(method, outcome)
        self._upstream_duration.observe(seconds, method)

    def pacing_wait(self, seconds: float) -> None:
        self._pacing.observe(seconds)

    def retry(self, method: str, reason: str) -> None:
        self._retries.inc(method, reason)

    def cache(self, kind: str, hit: bool) -> None:
        self._cache.inc(kind, "hit" if hit else "miss")

    # RequestObserver

    def mcp_request(self, method: str, target: str, outcome: str, seconds: float) -> None:
        if self._targets is not None and target not in self._targets:
            target = OTHER
        self._mcp_requests.inc(method, target, outcome)
        self._mcp_duration.observe(seconds, method)

    def in_flight(self, delta: int) -> None:
        self._in_flight += delta

    def render(self) -> str:
        """The whole registry in Prometheus text format 0.0.4."""
        out = _gauge(
            "labmcp_build_info",
            "Build information; the value is always 1.",
            1,
            _labels(("version", "python"), (self._version, self._python)),
        )
        out += _gauge("labmcp_ready", "1 when the server is ready to serve requests, else 0.", int(self._ready()))
        if self._upstream_up is not None:
            out += _gauge(
                "labmcp_upstream_up",
                "1 while the most recent LabArchives call that could tell succeeded, else 0.",
                int(self._upstream_up()),
            )
        out += _gauge("labmcp_uptime_seconds", "Seconds since the metrics registry started.", self._uptime())
        out += _gauge("labmcp_mcp_in_flight_requests", "MCP requests being answered now.", self._in_flight)
        for family in (
            self._mcp_requests,
            self._mcp_duration,
            self._upstream_requests,
            self._upstream_duration,
            self._pacing,
            self._retries,
            self._cache,
        ):
            out += family.lines()
        out += _process_lines(self._process())
        return "\n".join(out) + "\n"

    def _uptime(self) -> float:
        return round(max(0.0, self._clock() - self._started), 3)
