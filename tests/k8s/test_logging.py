"""The Fluent Bit pipelines in k8s/logging, proven without Fluent Bit (it installs from no registry we
use): the lines labmcp's real logger writes go through the configs' own rules (the JSON parser and
its time format, the audit regex, rewrite_tag, the parser filters and Loki labels), read from the
YAML files as shipped. A filter the interpreter below does not know fails the test, so the configs
cannot grow a step that goes unproven. The Kubernetes DaemonSet renders, passes the strict schemas
and checkov."""

from __future__ import annotations

import fnmatch
import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from labmcp.config import LogSettings
from labmcp.log import configure
from tests.k8s.tools import K8S, load_yaml, run, tool

LOGGING = K8S / "logging"
PIPELINES = {"compose": "fluent-bit-compose.yaml", "kubernetes": "fluent-bit-kubernetes.yaml"}
# Fluent Bit's built-in cri parser (containerd, CRI-O): time, stream, partial/full flag, the line.
CRI = re.compile(r"^(?P<time>[^ ]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) (?P<log>.*)$")
KUBE_FILE = "/var/log/containers/labmcp-7d9f8-abcde_labmcp-prod_labmcp-0123abcd.log"


def yaml_file(name: str) -> dict[str, Any]:
    (doc,) = load_yaml((LOGGING / name).read_text(encoding="utf-8"))
    result: dict[str, Any] = doc
    return result


def parsers() -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in yaml_file("parsers.yaml")["parsers"]}


def python_regex(onigmo: str) -> re.Pattern[str]:
    """Fluent Bit's Onigmo named groups ``(?<name>...)`` in Python's spelling."""
    return re.compile(re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", onigmo))


def python_time_format(fluent: str) -> str:
    """Fluent Bit's ``%L`` (fractional seconds) is Python's ``%f``; the rest is strptime's."""
    return fluent.replace("%L", "%f")


@dataclass
class Record:
    tag: str
    body: dict[str, Any]
    timestamp: datetime | None = None
    labels: dict[str, str] = field(default_factory=dict)


def apply_parser(name: str, text: str) -> tuple[dict[str, Any], datetime | None] | None:
    """One parser of parsers.yaml over one string, as Fluent Bit applies it; None when it does not match."""
    spec = parsers()[name]
    if spec["format"] == "json":
        try:
            body = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(body, dict):
            return None
    elif spec["format"] == "regex":
        match = python_regex(spec["regex"]).match(text)
        if match is None:
            return None
        body = {k: v for k, v in match.groupdict().items() if v is not None}
    else:
        pytest.fail(f"parser format {spec['format']} is not interpreted here")
    stamp = None
    if "time_key" in spec and spec["time_key"] in body:
        stamp = datetime.strptime(body[spec["time_key"]], python_time_format(spec["time_format"]))
        if not spec.get("time_keep"):
            del body[spec["time_key"]]
    return body, stamp


def accessor(body: dict[str, Any], expression: str) -> str | None:
    """A record accessor: ``$key`` or ``$key['sub']...``."""
    match = re.fullmatch(r"\$(\w+)((?:\['[^']+'\])*)", expression.strip())
    assert match, f"not a record accessor: {expression}"
    value: Any = body.get(match.group(1))
    for key in re.findall(r"\['([^']+)'\]", match.group(2)):
        value = value.get(key) if isinstance(value, dict) else None
    return None if value is None else str(value)


def run_pipeline(pipeline: str, raw_lines: list[str]) -> list[Record]:
    """Push raw file lines through one shipped config: input, filters in order, outputs."""
    config = yaml_file(PIPELINES[pipeline])["pipeline"]
    (source,) = config["inputs"]
    assert source["name"] == "tail"
    records: list[Record] = []
    for raw in raw_lines:
        if "multiline.parser" in source:
            assert source["multiline.parser"].split(",")[0].strip() == "cri"
            match = CRI.match(raw)
            assert match, raw
            body: dict[str, Any] = match.groupdict()
            tag = source["tag"].replace("*", KUBE_FILE.lstrip("/").replace("/", "."))
            assert fnmatch.fnmatch(KUBE_FILE, source["path"])
            records.append(Record(tag, body))
        else:
            parsed = apply_parser(source["parser"], raw)
            records.append(
                Record(source["tag"], parsed[0], parsed[1]) if parsed else Record(source["tag"], {"log": raw})
            )
    for step in config["filters"]:
        kept: list[Record] = []
        for record in records:
            if not fnmatch.fnmatchcase(record.tag, step["match"]):
                kept.append(record)
                continue
            if step["name"] == "parser":
                text = record.body.get(step["key_name"])
                parsed = apply_parser(step["parser"], text) if isinstance(text, str) else None
                if parsed is not None:
                    base = dict(record.body) if step.get("reserve_data") else {}
                    if not step.get("preserve_key"):
                        base.pop(step["key_name"], None)
                    record.body = {**base, **parsed[0]}
                    record.timestamp = parsed[1] or record.timestamp
            elif step["name"] == "rewrite_tag":
                key, regex, new_tag, keep = step["rule"].split(" ")
                value = accessor(record.body, key)
                if value is not None and python_regex(regex).search(value):
                    if keep == "true":
                        kept.append(Record(record.tag, dict(record.body), record.timestamp))
                    record.tag = new_tag
            elif step["name"] == "kubernetes":
                prefix = step["kube_tag_prefix"]
                assert record.tag.startswith(prefix)
                pod, namespace, _ = record.tag.removeprefix(prefix).split("_", 2)
                record.body["kubernetes"] = {"namespace_name": namespace, "pod_name": pod}
            else:
                pytest.fail(f"filter {step['name']} is not interpreted here; prove it before shipping it")
            kept.append(record)
        records = kept
    routed: list[Record] = []
    for record in records:
        outputs = [o for o in config["outputs"] if fnmatch.fnmatchcase(record.tag, o["match"])]
        assert len(outputs) == 1, f"{record.tag} goes to {len(outputs)} outputs"
        (out,) = outputs
        assert out["name"] == "loki" and out["line_format"] == "json"
        labels: dict[str, str] = {}
        for pair in out["labels"].split(","):
            key, value = pair.strip().split("=", 1)
            resolved = accessor(record.body, value) if value.startswith("$") else value
            if resolved is not None:
                labels[key] = resolved
        for expression in out.get("label_keys", "").split(","):
            if expression.strip():
                value = accessor(record.body, expression)
                if value is not None:
                    labels[expression.strip().lstrip("$")] = value
        for key in out.get("remove_keys", "").split(","):
            record.body.pop(key.strip(), None)
        record.labels = labels
        routed.append(record)
    return routed


# --- real lines from labmcp's logger -------------------------------------------------------------


@pytest.fixture(scope="module")
def session_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What the server writes in a real demo session (stdio, JSON, DEBUG): start-up, upstream calls,
    one audit line per tool call."""
    log_file = tmp_path_factory.mktemp("log") / "labmcp.log"
    server = f"{sys.executable} -m labmcp --log-json --log-level DEBUG --log-file {log_file}"
    proc = subprocess.run(
        [sys.executable, "-m", "labmcp", "demo-session", "--server", server],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert sum('"labmcp.audit"' in line for line in lines) >= 5
    return lines


@pytest.fixture
def edge_lines(tmp_path: Path) -> Iterator[list[str]]:
    """Lines the real formatter writes for the awkward cases: an exception with its traceback, quotes,
    newlines and non-ASCII text, a non-audit message that starts like an audit line, a redacted secret."""
    log_file = tmp_path / "edge.log"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logging.getLogger("labmcp").level)
    configure(LogSettings(level="DEBUG", file=log_file, json=True), secrets=["s3cret-value"])
    try:
        log = logging.getLogger("labmcp.upstream")
        try:
            raise ValueError('bad "value"\nsecond line s3cret-value')
        except ValueError:
            log.exception("call failed: Grüße «quoted» %s", "token=abc")
        logging.getLogger("labmcp").warning("access denied for read_page: not in scope")
        logging.getLogger("labmcp.audit").info('access search notebook="nb 1" page=0 hits=2')
        for handler in logging.getLogger().handlers:
            handler.flush()
        yield log_file.read_text(encoding="utf-8").splitlines()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("labmcp").setLevel(saved[2])


def cri(lines: list[str]) -> list[str]:
    """The lines as containerd writes the container's stderr to the node's log file."""
    return [f"2026-11-30T10:00:00.{i:09d}Z stderr F {line}" for i, line in enumerate(lines)]


def check_streams(records: list[Record], lines: list[str]) -> None:
    audit = [r for r in records if r.labels["stream"] == "audit"]
    app = [r for r in records if r.labels["stream"] == "app"]
    expected_audit = [json.loads(line) for line in lines if json.loads(line)["logger"] == "labmcp.audit"]
    assert len(records) == len(lines), "a line was lost or duplicated"
    assert [r.body["message"] for r in audit] == [e["message"] for e in expected_audit]
    for record in audit:
        assert record.labels["job"] == "labmcp"
        assert record.labels["tool"] == record.body["message"].split(" ")[1]
        assert record.body["logger"] == "labmcp.audit" and record.timestamp is not None
    for record in app:
        assert record.body["logger"] != "labmcp.audit"
        assert record.labels["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
        assert "tool" not in record.labels


@pytest.mark.slow
@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_a_real_session_splits_into_app_and_audit_streams(pipeline: str, session_lines: list[str]) -> None:
    raw = session_lines if pipeline == "compose" else cri(session_lines)
    records = run_pipeline(pipeline, raw)
    check_streams(records, session_lines)
    tools = {r.labels["tool"] for r in records if r.labels["stream"] == "audit"}
    assert {"list_notebooks", "browse_notebook", "read_page", "search"} <= tools
    for record, line in zip(records, session_lines, strict=True):
        # Parsed time is the logged instant (UTC, milliseconds).
        original = json.loads(line)["time"]
        assert record.timestamp == datetime.fromisoformat(original)


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_exceptions_quotes_and_lookalike_messages_stay_in_their_stream(pipeline: str, edge_lines: list[str]) -> None:
    raw = edge_lines if pipeline == "compose" else cri(edge_lines)
    records = run_pipeline(pipeline, raw)
    check_streams(records, edge_lines)
    failed = next(r for r in records if "exception" in r.body)
    assert "Traceback" in failed.body["exception"] and "s3cret-value" not in json.dumps(failed.body)
    assert failed.labels["level"] == "ERROR" and "Grüße" in failed.body["message"]
    lookalike = next(r for r in records if r.body["message"].startswith("access denied"))
    assert lookalike.labels["stream"] == "app"
    (audit,) = [r for r in records if r.labels["stream"] == "audit"]
    assert (audit.body["tool"], audit.body["facts"]) == ("search", 'notebook="nb 1" page=0 hits=2')
    if pipeline == "kubernetes":
        assert (audit.labels["namespace"], audit.labels["pod"]) == ("labmcp-prod", "labmcp-7d9f8-abcde")


def test_a_text_line_is_shipped_unparsed_in_the_app_stream() -> None:
    """The dev overlay logs text; the pipelines parse JSON only, so text goes through as it is."""
    line = "2026-11-30 10:00:00,123 INFO labmcp.audit: access list_notebooks notebooks=3"
    for pipeline, raw in (("compose", [line]), ("kubernetes", cri([line]))):
        (record,) = run_pipeline(pipeline, raw)
        assert record.labels["stream"] == "app" and line in json.dumps(record.body)


def test_both_pipelines_use_the_same_parsers_and_audit_rule() -> None:
    rules = set()
    for name in PIPELINES.values():
        config = yaml_file(name)
        assert config["service"]["parsers_file"].endswith("/parsers.yaml")
        rules |= {f["rule"] for f in config["pipeline"]["filters"] if f["name"] == "rewrite_tag"}
        used = {f["parser"] for f in config["pipeline"]["filters"] if f["name"] == "parser"}
        used |= {i["parser"] for i in config["pipeline"]["inputs"] if "parser" in i}
        assert used == set(parsers())
    assert rules == {r"$logger ^labmcp\.audit$ labmcp.audit false"}


def test_the_logging_kustomization_renders_valid_and_passes_checkov(tmp_path: Path) -> None:
    rendered = tmp_path / "logging.yaml"
    rendered.write_text(run([tool("kubectl"), "kustomize", str(LOGGING)]), encoding="utf-8")
    out = run([tool("kubernetes-validate"), "--strict", "--kubernetes-version", "1.37.0", str(rendered)])
    assert "passed for resource daemonset/fluent-bit" in out
    config = str(K8S / "checkov.yaml")
    out = run(
        [tool("checkov"), "--config-file", config, "--framework", "kubernetes", "--file", str(rendered)], timeout=180
    )
    assert "Failed checks: 0" in out
    docs = load_yaml(rendered.read_text(encoding="utf-8"))
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    assert config_map["data"]["parsers.yaml"] == (LOGGING / "parsers.yaml").read_text(encoding="utf-8")
    assert config_map["data"]["fluent-bit.yaml"] == (LOGGING / PIPELINES["kubernetes"]).read_text(encoding="utf-8")
    (daemonset,) = [d for d in docs if d["kind"] == "DaemonSet"]
    skips = [v for k, v in daemonset["metadata"]["annotations"].items() if k.startswith("checkov.io/skip")]
    assert skips and all(len(reason.split("=", 1)[1]) > 40 for reason in skips)
