"""The Prometheus registry: names, types, counters that move, escaping, cardinality caps, process stats."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from labmcp.observe import RequestObserver, UpstreamObserver
from labmcp.transports.metrics import (
    DURATION_BUCKETS,
    Metrics,
    ProcessStats,
    escape_help,
    escape_label_value,
    format_value,
    parse_boot_time,
    parse_max_fds,
    parse_proc_stat,
    read_process_stats,
)

# --- a small parser of the text format, independent of the renderer ----------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "\\": "\\", '"': '"'}[m.group(1)], value)


@dataclass
class Exposition:
    """Parsed exposition text: samples by (name, labels), and the HELP/TYPE lines by family."""

    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)
    helps: dict[str, str] = field(default_factory=dict)

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self) -> set[str]:
        return {v for _, labels in self.samples for _, v in labels}


def parse(text: str) -> Exposition:
    assert text.endswith("\n")
    out = Exposition()
    for line in text[:-1].split("\n"):  # the format splits on \n only, not on \r or U+2028
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            out.helps[name] = help_text
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name not in out.types, f"duplicate TYPE for {name}"
            out.types[name] = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            raw = match.group("labels") or ""
            labels = [(k, _unescape(v)) for k, v in _LABEL.findall(raw)]
            assert "".join(m.group(0) for m in _LABEL.finditer(raw)) == raw, f"bad labels: {raw!r}"
            name = match.group("name")
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in out.types or family in out.types, f"sample before its TYPE: {line!r}"
            out.samples[(name, frozenset(labels))] = float(match.group("value"))
    return out


FIXED_PROCESS = ProcessStats(
    cpu_seconds=1.5, resident_bytes=4096, virtual_bytes=8192, open_fds=7, max_fds=1024, start_time=1700000000.25
)


def make(**kwargs: object) -> Metrics:
    defaults: dict[str, object] = {"process": lambda: FIXED_PROCESS, "python": "3.11.7"}
    defaults.update(kwargs)
    return Metrics("0.1.0", lambda: True, **defaults)  # type: ignore[arg-type]


# --- behaviour ----------------------------------------------------------------------------------


def test_metrics_satisfies_both_observer_protocols() -> None:
    metrics = make()
    upstream: UpstreamObserver = metrics
    requests: RequestObserver = metrics
    assert upstream is requests


def test_every_contracted_metric_name_is_rendered_with_its_type() -> None:
    exp = parse(make().render())
    assert exp.types == {
        "labmcp_build_info": "gauge",
        "labmcp_ready": "gauge",
        "labmcp_uptime_seconds": "gauge",
        "labmcp_mcp_in_flight_requests": "gauge",
        "labmcp_mcp_requests_total": "counter",
        "labmcp_mcp_request_duration_seconds": "histogram",
        "labmcp_upstream_requests_total": "counter",
        "labmcp_upstream_request_duration_seconds": "histogram",
        "labmcp_upstream_pacing_wait_seconds": "histogram",
        "labmcp_upstream_retries_total": "counter",
        "labmcp_cache_lookups_total": "counter",
        "process_cpu_seconds_total": "counter",
        "process_resident_memory_bytes": "gauge",
        "process_virtual_memory_bytes": "gauge",
        "process_open_fds": "gauge",
        "process_max_fds": "gauge",
        "process_start_time_seconds": "gauge",
    }
    assert set(exp.helps) == set(exp.types)


def test_build_info_carries_version_and_python_with_value_one() -> None:
    text = make().render()
    assert 'labmcp_build_info{version="0.1.0",python="3.11.7"} 1\n' in text


def test_counters_move_with_observations() -> None:
    metrics = make()
    before = parse(metrics.render())
    metrics.mcp_request("tools/call", "read_page", "ok", 0.02)
    metrics.mcp_request("tools/call", "read_page", "ok", 0.03)
    metrics.mcp_request("tools/call", "search", "tool_error", 0.5)
    metrics.upstream_call("entries:entry_attachment", "http_500", 1.2)
    metrics.upstream_call("entries:entry_attachment", "ok", 0.2)
    metrics.retry("entries:entry_attachment", "http_500")
    metrics.cache("tree_level", True)
    metrics.cache("tree_level", False)
    metrics.cache("tree_level", True)
    after = parse(metrics.render())

    key = {"method": "tools/call", "target": "read_page", "outcome": "ok"}
    assert before.value("labmcp_mcp_requests_total", **key) == 0
    assert after.value("labmcp_mcp_requests_total", **key) == 2
    assert after.value("labmcp_mcp_requests_total", method="tools/call", target="search", outcome="tool_error") == 1
    assert after.value("labmcp_upstream_requests_total", method="entries:entry_attachment", outcome="http_500") == 1
    assert after.value("labmcp_upstream_retries_total", method="entries:entry_attachment", reason="http_500") == 1
    assert after.value("labmcp_cache_lookups_total", kind="tree_level", result="hit") == 2
    assert after.value("labmcp_cache_lookups_total", kind="tree_level", result="miss") == 1


def test_histogram_buckets_are_cumulative_and_end_with_inf_sum_and_count() -> None:
    metrics = make()
    for seconds in (0.0005, 0.02, 0.02, 3.0, 45.0):
        metrics.upstream_call("notebooks:tree_level", "ok", seconds)
    exp = parse(metrics.render())
    name = "labmcp_upstream_request_duration_seconds"
    counts = [exp.value(f"{name}_bucket", method="notebooks:tree_level", le=format_value(b)) for b in DURATION_BUCKETS]
    assert counts == sorted(counts)
    assert exp.value(f"{name}_bucket", method="notebooks:tree_level", le="0.001") == 1
    assert exp.value(f"{name}_bucket", method="notebooks:tree_level", le="0.025") == 3
    assert exp.value(f"{name}_bucket", method="notebooks:tree_level", le="5") == 4
    assert exp.value(f"{name}_bucket", method="notebooks:tree_level", le="30") == 4
    assert exp.value(f"{name}_bucket", method="notebooks:tree_level", le="+Inf") == 5
    assert exp.value(f"{name}_count", method="notebooks:tree_level") == 5
    assert exp.value(f"{name}_sum", method="notebooks:tree_level") == pytest.approx(48.0405)


def test_pacing_wait_is_an_unlabelled_histogram() -> None:
    metrics = make()
    metrics.pacing_wait(0.7)
    exp = parse(metrics.render())
    assert exp.value("labmcp_upstream_pacing_wait_seconds_bucket", le="0.5") == 0
    assert exp.value("labmcp_upstream_pacing_wait_seconds_bucket", le="1") == 1
    assert exp.value("labmcp_upstream_pacing_wait_seconds_count") == 1


def test_in_flight_gauge_follows_starts_and_finishes() -> None:
    metrics = make()
    metrics.in_flight(1)
    metrics.in_flight(1)
    assert parse(metrics.render()).value("labmcp_mcp_in_flight_requests") == 2
    metrics.in_flight(-1)
    assert parse(metrics.render()).value("labmcp_mcp_in_flight_requests") == 1


def test_ready_gauge_asks_the_callback_at_each_render() -> None:
    state = {"ready": False}
    metrics = Metrics("0.1.0", lambda: state["ready"], process=lambda: FIXED_PROCESS)
    assert parse(metrics.render()).value("labmcp_ready") == 0
    state["ready"] = True
    assert parse(metrics.render()).value("labmcp_ready") == 1


def test_upstream_gauge_asks_its_callback_and_is_absent_without_one() -> None:
    """LabArchives' health is its own series, apart from readiness (issue 19)."""
    state = {"up": False}
    metrics = make(upstream_up=lambda: state["up"])
    assert parse(metrics.render()).value("labmcp_upstream_up") == 0
    state["up"] = True
    exposition = parse(metrics.render())
    assert exposition.value("labmcp_upstream_up") == 1 and exposition.types["labmcp_upstream_up"] == "gauge"
    assert "labmcp_upstream_up" not in parse(make().render()).types


def test_uptime_comes_from_the_injected_clock() -> None:
    now = [100.0]
    metrics = make(clock=lambda: now[0])
    now[0] = 142.5
    assert parse(metrics.render()).value("labmcp_uptime_seconds") == 42.5


# --- cardinality and secrets --------------------------------------------------------------------


def test_targets_outside_the_allowed_set_collapse_to_other() -> None:
    metrics = make(targets={"read_page"})
    metrics.mcp_request("tools/call", "read_page", "ok", 0.1)
    metrics.mcp_request("tools/call", "made_up_tool_1", "error", 0.1)
    metrics.mcp_request("tools/call", "made_up_tool_2", "error", 0.1)
    metrics.mcp_request("tools/list", "", "ok", 0.1)
    exp = parse(metrics.render())
    assert exp.value("labmcp_mcp_requests_total", method="tools/call", target="other", outcome="error") == 2
    assert exp.value("labmcp_mcp_requests_total", method="tools/list", target="", outcome="ok") == 1
    assert "made_up_tool_1" not in exp.label_values()


def test_label_sets_past_the_cap_fold_into_one_other_series() -> None:
    metrics = make(max_series=3)
    for i in range(10):
        metrics.upstream_call(f"method_{i}", "ok", 0.1)
    exp = parse(metrics.render())
    series = [labels for name, labels in exp.samples if name == "labmcp_upstream_requests_total"]
    assert len(series) == 4
    assert exp.value("labmcp_upstream_requests_total", method="other", outcome="other") == 7
    assert exp.value("labmcp_upstream_request_duration_seconds_count", method="other") == 7
    metrics.upstream_call("method_0", "ok", 0.1)
    assert parse(metrics.render()).value("labmcp_upstream_requests_total", method="method_0", outcome="ok") == 2


def test_overlong_or_unprintable_label_values_become_other() -> None:
    metrics = make()
    metrics.retry("x" * 101, "http_500")
    metrics.retry("line\nbreak", "http_500")
    exp = parse(metrics.render())
    assert exp.value("labmcp_upstream_retries_total", method="other", reason="http_500") == 2


_words = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


@given(
    calls=st.lists(st.tuples(_words, _words, _words, st.floats(0, 100)), max_size=20),
    kinds=st.lists(st.tuples(_words, st.booleans()), max_size=10),
)
def test_label_values_come_only_from_observer_arguments(
    calls: list[tuple[str, str, str, float]], kinds: list[tuple[str, bool]]
) -> None:
    """The registry never invents label values: a secret that is not passed to an observer cannot appear."""
    metrics = make(max_series=5)
    passed: set[str] = set()
    for method, target, outcome, seconds in calls:
        metrics.mcp_request(method, target, outcome, seconds)
        metrics.upstream_call(method, outcome, seconds)
        metrics.retry(method, target)
        passed |= {method, target, outcome}
    for kind, hit in kinds:
        metrics.cache(kind, hit)
        passed.add(kind)
    fixed = {"other", "hit", "miss", "0.1.0", "3.11.7", "+Inf"} | {format_value(b) for b in DURATION_BUCKETS}
    assert parse(metrics.render()).label_values() <= passed | fixed


# --- golden text --------------------------------------------------------------------------------


def test_label_value_escaping_golden() -> None:
    assert escape_label_value('a\\b"c\nd') == 'a\\\\b\\"c\\nd'
    assert escape_label_value("plain") == "plain"


def test_help_escaping_keeps_quotes_golden() -> None:
    assert escape_help('say "hi"\\now\nthen') == 'say "hi"\\\\now\\nthen'


def test_version_with_quotes_backslash_and_newline_is_escaped_in_build_info() -> None:
    metrics = Metrics('1.0"\\\n', lambda: True, process=lambda: FIXED_PROCESS, python="3.11.7")
    text = metrics.render()
    assert 'labmcp_build_info{version="1.0\\"\\\\\\n",python="3.11.7"} 1\n' in text
    assert parse(text).value("labmcp_build_info", version='1.0"\\\n', python="3.11.7") == 1


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
@example('"')
@example("\\")
@example('\\"} 1\n')
def test_escaping_round_trips_through_the_parser(value: str) -> None:
    line = f'm{{l="{escape_label_value(value)}"}} 1'
    assert "\n" not in line
    assert parse(f"# TYPE m gauge\n{line}\n").value("m", l=value) == 1


def test_format_value_golden() -> None:
    assert [format_value(v) for v in (1.0, 0.25, 30.0, 0.001, float("inf"), float("nan"), 3)] == [
        "1",
        "0.25",
        "30",
        "0.001",
        "+Inf",
        "NaN",
        "3",
    ]


# --- process metrics ----------------------------------------------------------------------------

# A /proc/self/stat line whose command name holds a space and a ')' (proc(5) allows both).
STAT = (
    "4242 (py thon) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
    "250 50 0 0 20 0 3 0 12345 123456789 2000 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 1 0 0 0"
)


def test_parse_proc_stat_reads_cpu_memory_and_start_time() -> None:
    stats = parse_proc_stat(STAT, boot_time=1_700_000_000.0, ticks=100, page_size=4096)
    assert stats.cpu_seconds == 3.0
    assert stats.virtual_bytes == 123456789
    assert stats.resident_bytes == 2000 * 4096
    assert stats.start_time == 1_700_000_123.45


def test_parse_boot_time_and_max_fds() -> None:
    assert parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n") == 1_700_000_000.0
    assert parse_boot_time("cpu 1\n") is None
    limits = (
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 524288               files     \n"
    )
    assert parse_max_fds(limits) == 1024
    assert parse_max_fds(limits.replace("1024   ", "unlimited")) is None


def test_unavailable_process_metrics_are_left_out() -> None:
    metrics = make(process=lambda: ProcessStats(cpu_seconds=0.5))
    exp = parse(metrics.render())
    assert exp.value("process_cpu_seconds_total") == 0.5
    assert "process_resident_memory_bytes" not in exp.types
    assert "process_start_time_seconds" not in exp.types


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_real_process_stats_on_linux_are_plausible() -> None:
    stats = read_process_stats()
    assert stats.resident_bytes is not None and stats.resident_bytes > 1024 * 1024
    assert stats.virtual_bytes is not None and stats.virtual_bytes >= stats.resident_bytes
    assert stats.open_fds is not None and stats.open_fds >= 3
    assert stats.max_fds is None or stats.max_fds >= stats.open_fds
    assert stats.cpu_seconds is not None and stats.cpu_seconds > 0
    assert stats.start_time is not None and stats.start_time > 1_600_000_000


# --- the reference checker ----------------------------------------------------------------------


def test_promtool_accepts_the_exposition(tmp_path: Path) -> None:
    """`promtool check metrics` (Debian package prometheus) lints names, types, units and the format."""
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("LABMCP_REQUIRE_PROMTOOL") == "1":
            pytest.fail("promtool not found but LABMCP_REQUIRE_PROMTOOL=1 (apt-get install prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus); CI sets LABMCP_REQUIRE_PROMTOOL=1")
    metrics = Metrics('0.1.0 "dev"', lambda: True, targets={"read_page"})
    metrics.mcp_request("tools/call", "read_page", "ok", 0.02)
    metrics.mcp_request("resources/read", "page", "error", 0.3)
    metrics.in_flight(1)
    metrics.upstream_call("users:user_info", "error_4520", 0.4)
    metrics.pacing_wait(1.0)
    metrics.retry("users:user_info", "timeout")
    metrics.cache("node", False)
    result = subprocess.run(
        [promtool, "check", "metrics"], input=metrics.render(), capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


def test_exported_series_match_the_k8s_contract_file() -> None:
    """k8s/monitoring/metrics.txt lists every series name, type and label set the dashboards and alerts may use."""
    contract: dict[str, tuple[str, frozenset[str]]] = {}
    for line in (Path(__file__).parents[2] / "k8s" / "monitoring" / "metrics.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, kind, labels = line.split()
            contract[name] = (kind, frozenset() if labels == "-" else frozenset(labels.split(",")))
    metrics = make(upstream_up=lambda: True)  # as the runner builds it
    metrics.mcp_request("tools/call", "read_page", "ok", 0.1)
    metrics.upstream_call("users/user_info", "ok", 0.1)
    metrics.pacing_wait(0.1)
    metrics.retry("users/user_info", "timeout")
    metrics.cache("node", True)
    exp = parse(metrics.render())
    exported: dict[str, tuple[str, frozenset[str]]] = {}
    for name, labels in exp.samples:
        family = name if name in exp.types else re.sub(r"_(bucket|sum|count)$", "", name)
        exported[name] = (exp.types[family], frozenset(k for k, _ in labels))
    assert exported == contract
