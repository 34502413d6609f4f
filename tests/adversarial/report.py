"""Print the adversarial suite's figures as a Markdown table: ``python -m tests.adversarial.report [path]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.adversarial.conftest import figures_path


def rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, value) pairs from the figures file, in the order the README lists them."""
    parts = data.get("parts", {})
    out: list[tuple[str, str]] = []
    if faults := parts.get("upstream_faults"):
        start = parts.get("upstream_start", {})
        out.append(
            (
                "Upstream fault kinds, end to end (each a clear error, no crash, no 4xx retry, next call OK)",
                str(faults["kinds"] + len(start)),
            )
        )
    stdio, http = parts.get("fuzz_stdio"), parts.get("fuzz_http")
    if stdio or http:
        total = (stdio or {}).get("inputs", 0) + (http or {}).get("inputs", 0)
        out.append(
            (
                "Hostile MCP inputs fuzzed (stdio + HTTP)",
                f"{total:,} ({(stdio or {}).get('inputs', 0):,} + {(http or {}).get('inputs', 0):,})",
            )
        )
        if stdio:
            out.append(
                (
                    "Requests with an id answered exactly once (stdio)",
                    f"{stdio['answered_exactly_once']:,} of {stdio['requests_with_id']:,}",
                )
            )
    out += kind_rows(parts)
    if scopes := parts.get("scope_escapes"):
        tried = sum(s["attempts"] for s in scopes.values())
        leaks = sum(s["leaks"] + s["distinguishable"] for s in scopes.values())
        out.append((f"Scope escapes tried ({len(scopes)} scope kinds)", f"{tried:,}"))
        out.append(("Leaks found (canary, out-of-scope ids/titles, answers unlike 'not found')", str(leaks)))
    if secrets := parts.get("secret_hygiene"):
        out.append(
            ("Secret leaks (logs, stderr, outputs, /metrics, /health)", str(sum(s["leaks"] for s in secrets.values())))
        )
    if load := parts.get("load"):
        out.append(
            (
                "Load held",
                f"{load['clients']} clients x {load['seconds']:g} s over HTTP: {load['requests']:,} requests, {load['errors']} errors",
            )
        )
        out.append(("Latency p50 / p95 / p99", f"{load['p50_ms']} / {load['p95_ms']} / {load['p99_ms']} ms"))
        out.append(
            (
                "Server RSS start → end (growth, bound)",
                f"{load['rss_start_mib']} → {load['rss_end_mib']} MiB ({load['rss_growth_mib']:+} MiB, < {load['rss_bound_mib']:g})",
            )
        )
        out.append(
            (
                "/health/live under garbage, slow-loris, big headers",
                f"{load['health_live_probes']} probes, {load['health_live_failures']} failures, max {load['health_live_max_ms']} ms",
            )
        )
    return out


def kind_rows(parts: dict[str, Any]) -> list[tuple[str, str]]:
    """The hostile kinds of issue 12: how many inputs of each, per transport, and that it survived."""
    out: list[tuple[str, str]] = []
    stdio, http = parts.get("kinds_stdio", {}), parts.get("kinds_http", {})
    for name in dict.fromkeys([*stdio.get("tried", {}), *http.get("tried", {})]):
        counts = [str(side.get("tried", {}).get(name, "–")) for side in (stdio, http)]
        out.append((f"Kind: {name} (stdio / HTTP), each answered with its prescribed error", " / ".join(counts)))
    if stdio.get("h2_frames_as_lines"):
        lines = f"{stdio['h2_frames_as_lines']} + {stdio.get('trickled_lines', 0)}"
        out.append(("HTTP/2 frames sent to stdio as lines + a line trickled byte by byte (survived)", lines))
    if stdio or http:
        calls = f"{stdio.get('well_behaved_calls', 0):,} / {http.get('well_behaved_calls', 0):,}"
        out.append(("Well-behaved calls beside the message kinds (stdio / HTTP), all correct", calls))
    if connections := parts.get("kinds_connections"):
        for name, count in connections["tried"].items():
            out.append((f"Kind: {name} (HTTP)", f"{count:,}"))
        probes = f"{connections['health_probes']} probes, all 200, max {connections['health_probe_max_ms']} ms"
        out.append(("/health/live during the connection kinds", probes))
        if "rss_after_mib" in connections:
            out.append(("Server RSS after the connection kinds (bound 128 MiB)", f"{connections['rss_after_mib']} MiB"))
        out.append(
            ("Well-behaved calls beside the connection kinds, all correct", f"{connections['well_behaved_calls']:,}")
        )
    if parts.get("kinds_request_deadline"):
        out.append(("A call past LABMCP_REQUEST_TIMEOUT", "answered with isError, counted tool_error"))
    if shutdown := parts.get("kinds_shutdown"):
        out.append(
            ("SIGTERM with a call past the grace period", f"answered with an error; exit {shutdown['exit_code']}")
        )
    if parts.get("kinds_shutdown_drain"):
        out.append(("SIGTERM: readiness 503 while the MCP listener still serves", "yes"))
    survived = [p for p in ("kinds_stdio", "kinds_http", "kinds_connections") if p in parts]
    if survived:
        alive = all(parts[p].get("process_alive_after") for p in survived)
        out.append(("Server process alive after every kind", "yes" if alive else "NO"))
    return out


def markdown(data: dict[str, Any]) -> str:
    lines = ["| Figure | Value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows(data)]
    lines += ["", f"Produced by `{data.get('command', '?')}` at {data.get('generated_at', '?')}."]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else figures_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        print(f"no figures at {path}; run `.venv/bin/python -m pytest tests/adversarial` first", file=sys.stderr)
        return 1
    print(markdown(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
