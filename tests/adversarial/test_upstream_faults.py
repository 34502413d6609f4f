"""Upstream faults end to end: the real server process over stdio, the SDK client, faults injected in the fake.

Every case states what the model must see. Common to all: the server does not crash, a 4xx is
never retried (counted in the fake's request log), and the next call after the fault succeeds.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio

from labmcp.fake import FakeLabArchives
from labmcp.fake.store import Store
from tests.adversarial.support import CANARY_PASSWORD, adversarial_env, leaked_secrets
from tests.e2e.helpers import stdio_client, structured, text_of

pytestmark = pytest.mark.slow

TARGET = "get_entries_for_page"


def _revoke(store: Store, uid: str) -> Callable[[], None]:
    store.revoke_uid(uid)

    def undo() -> None:
        store.users[uid].revoked = False

    return undo


def _wrong_password(store: Store, akid: str) -> Callable[[], None]:
    store.add_akid(akid, "not-the-password-the-server-signs-with")

    def undo() -> None:
        store.add_akid(akid, CANARY_PASSWORD)

    return undo


def _skew(fake: FakeLabArchives) -> None:
    # Server time jumps 10 minutes ahead and stays there: the client's expires is now stale (§2.4).
    # Not undone: a clock jumping back would make expires "too far in the future" (4529), which the
    # client, by design, does not re-sync on.
    fake.config.clock_offset_ms = 600_000


@dataclass(frozen=True, slots=True)
class Case:
    """One fault: how to inject it, what the tool must answer, and how many upstream tries are allowed."""

    name: str
    expected: str
    kind: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    attempts: int | None = 1
    """Upstream tries seen by the fake; None where the fake cannot log them (a hang never finishes)."""
    succeeds: bool = False
    setup: str | None = None


CASES = (
    Case(
        "http_500",
        "5xx is retried 3 times, then isError naming HTTP 500 / code 4999",
        "http_status",
        {"status": 500},
        r"LabArchives error: .*get_entries_for_page failed: error 4999",
        3,
    ),
    Case(
        "http_502",
        "5xx is retried 3 times, then isError naming the failure",
        "http_status",
        {"status": 502},
        r"LabArchives error: .*failed: error 4999",
        3,
    ),
    Case(
        "http_503_plain",
        "503 with a text/plain body: retried 3 times, isError naming HTTP 503",
        "http_status",
        {"status": 503, "plain": True},
        r"LabArchives error: .*failed: HTTP 503",
        3,
    ),
    Case(
        "la_4999",
        "code 4999 with HTTP 500: retried, then isError naming 4999 and its meaning",
        "la_error",
        {"code": 4999, "status": 500},
        r"error 4999",
        3,
    ),
    Case(
        "la_4501_403",
        "a 4xx (4501, no read rights) is never retried; isError names 4501",
        "la_error",
        {"code": 4501, "status": 403},
        r"error 4501",
        1,
    ),
    Case(
        "la_4529_400",
        "a 4xx (4529, invalid value) is never retried; isError names 4529",
        "la_error",
        {"code": 4529, "status": 400},
        r"error 4529",
        1,
    ),
    Case(
        "read_timeout",
        "no answer within LABARCHIVES_READ_TIMEOUT: retried, then isError 'timed out'",
        "hang_before_response",
        {},
        r"timed out",
        None,
    ),
    Case(
        "hang_mid_body",
        "headers and half a body, then silence: retried, then isError 'timed out'",
        "hang_mid_body",
        {},
        r"timed out",
        3,
    ),
    Case(
        "reset",
        "connection reset (RST): retried, then isError 'connection failed or was reset'",
        "reset",
        {},
        r"connection failed or was reset",
        3,
    ),
    Case(
        "truncated_xml",
        "half an XML document with 200: isError 'malformed XML', not retried",
        "truncated_xml",
        {},
        r"malformed XML",
        1,
    ),
    Case(
        "non_xml_200",
        "binary garbage with 200: isError naming malformed XML, not retried",
        "garbage",
        {},
        r"malformed XML|content type",
        1,
    ),
    Case(
        "xml_bomb",
        "billion-laughs DTD: refused without expansion, isError naming the DTD, not retried",
        "xml_bomb",
        {},
        r"DTD",
        1,
    ),
    Case(
        "external_entity",
        "SYSTEM entity to /etc/passwd: refused, isError naming the DTD, not retried",
        "external_entity",
        {},
        r"DTD",
        1,
    ),
    Case(
        "wrong_content_type",
        "an HTML maintenance page with 200: isError naming the content type, not retried",
        "wrong_content_type",
        {},
        r"content type",
        1,
    ),
    Case(
        "huge_body",
        "a body beyond LABARCHIVES_MAX_RESPONSE_BYTES: cut at the cap, isError naming the cap",
        "huge_body",
        {"size": 3 * 1024 * 1024},
        r"more than \d+ bytes",
        1,
    ),
    Case(
        "clock_skew_4504",
        "server clock jumps 10 min: 4504, one clock re-sync, one retry, the call succeeds",
        setup="skew",
        attempts=2,
        succeeds=True,
    ),
    Case(
        "invalid_signature_4520",
        "the akid's password changes upstream: 4520 isError, never retried",
        setup="password",
        message=r"error 4520",
        attempts=1,
    ),
    Case(
        "revoked_uid_4507",
        "the uid is revoked: 4507 isError naming the uid, never retried",
        setup="revoke",
        message=r"error 4507",
        attempts=1,
    ),
)


def _count(fake: FakeLabArchives, since: int, method: str) -> int:
    return sum(1 for r in fake.log[since:] if r.api_method == method)


async def test_every_upstream_fault_is_a_clear_tool_error_and_the_next_call_succeeds(
    cfake: FakeLabArchives, log_file: Path, figures: dict[str, Any]
) -> None:
    """One server process lives through every case in CASES; each case's ``expected`` is asserted."""
    env = adversarial_env(
        cfake,
        log_file,
        LABARCHIVES_CACHE_TTL="0",
        LABARCHIVES_READ_TIMEOUT="0.4",
        LABARCHIVES_CONNECT_TIMEOUT="0.4",
        LABARCHIVES_MAX_RESPONSE_BYTES=str(1024 * 1024),
    )
    outcomes: dict[str, str] = {}
    with trio.fail_after(120):
        async with stdio_client(env) as client:
            nbid = next(
                n for n in structured(await client.call_tool("list_notebooks", {}))["notebooks"] if n["is_default"]
            )["id"]
            items = structured(await client.call_tool("browse_notebook", {"notebook_id": nbid, "depth": 5}))["items"]
            page = next(i for i in items if i["kind"] == "page" and i["name"] == "Welcome")
            args = {"notebook_id": nbid, "page_id": page["id"]}
            for case in CASES:
                since = len(cfake.log)
                undo: Callable[[], None] | None = None
                if case.kind is not None:
                    cfake.faults.add(case.kind, method=TARGET, times=None, **case.params)  # type: ignore[arg-type]
                elif case.setup == "skew":
                    _skew(cfake)
                elif case.setup == "password":
                    undo = _wrong_password(cfake.store, cfake.credentials.akid)
                elif case.setup == "revoke":
                    undo = _revoke(cfake.store, cfake.credentials.uid)
                result = await client.call_tool("read_page", args)
                text = text_of(result)
                assert not leaked_secrets(text), case.name
                if case.succeeds:
                    assert not result.is_error, f"{case.name}: {text}"
                    assert any(r.error_code == 4504 for r in cfake.log[since:]), case.name
                    assert _count(cfake, since, "epoch_time") == 1, f"{case.name}: one clock re-sync"
                else:
                    assert result.is_error, f"{case.name}: expected an error"
                    assert re.search(case.message, text), f"{case.name}: {text!r}"
                    assert text.startswith("LabArchives error:"), f"{case.name}: {text!r}"
                # Calls of the faulted method: exactly `attempts` (a 4xx: exactly 1, never retried).
                failing = {r.api_method for r in cfake.log[since:] if r.status != 200 or r.fault}
                assert failing or case.attempts is None, case.name
                for method in failing if case.attempts is not None else ():
                    tries = _count(cfake, since, method)
                    assert tries == case.attempts, f"{case.name}: {method} tried {tries} times, want {case.attempts}"
                cfake.faults.clear()
                if undo is not None:
                    undo()
                after = await client.call_tool("read_page", args)
                assert not after.is_error, f"after {case.name}: {text_of(after)}"
                outcomes[case.name] = f"{case.expected} — got: {text[:120]}"
    figures["upstream_faults"] = {
        "kinds": len(CASES),
        "names": [c.name for c in CASES],
        "all_clear_errors_and_recovered": True,
        "outcomes": outcomes,
    }


def _full_backlog_listener() -> tuple[socket.socket, list[socket.socket]]:
    """A listening socket whose accept queue is full, so new SYNs are dropped: connects time out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(listener.getsockname())
        except BlockingIOError:
            pass
        fillers.append(filler)
    return listener, fillers


async def test_connect_timeout_at_start_exits_1_with_a_clear_message(
    cfake: FakeLabArchives, log_file: Path, figures: dict[str, Any]
) -> None:
    """An API host that never accepts the TCP connection: the stdio server cannot start, says it
    timed out connecting, exits 1 within attempts x connect timeout, and leaks no secret."""
    listener, fillers = _full_backlog_listener()
    try:
        port = listener.getsockname()[1]
        env = adversarial_env(
            cfake, log_file, LABARCHIVES_API_BASE=f"http://127.0.0.1:{port}/api", LABARCHIVES_CONNECT_TIMEOUT="0.3"
        )
        with trio.fail_after(30):
            done = await trio.run_process(
                [sys.executable, "-m", "labmcp"], env=env, stdin=subprocess.DEVNULL, capture_stdout=True,
                capture_stderr=True, check=False,
            )  # fmt: skip
    finally:
        for sock in (listener, *fillers):
            sock.close()
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert re.search(r"cannot start: .*(timed out connecting|cannot reach)", stderr), stderr
    assert not leaked_secrets(stderr)
    assert done.stdout == b""
    figures.setdefault("upstream_start", {})["connect_timeout"] = stderr.strip().splitlines()[-1][-160:]


async def test_wrong_access_password_at_start_exits_1_naming_4520(
    cfake: FakeLabArchives, log_file: Path, figures: dict[str, Any]
) -> None:
    """A wrong LABARCHIVES_SECRET: start fails with the LabArchives code (4520, signature invalid) and
    exit code 1, the wrong value itself never printed."""
    wrong = "Wrong+Secret/Value=01"
    env = adversarial_env(cfake, log_file, LABARCHIVES_SECRET=wrong)
    with trio.fail_after(30):
        done = await trio.run_process(
            [sys.executable, "-m", "labmcp"], env=env, stdin=subprocess.DEVNULL, capture_stdout=True,
            capture_stderr=True, check=False,
        )  # fmt: skip
    stderr = done.stderr.decode()
    assert done.returncode == 1, stderr
    assert "4520" in stderr, stderr
    assert wrong not in stderr and not leaked_secrets(stderr)
    assert sum(1 for r in cfake.log if r.error_code == 4520) == 1, "a 4xx at start is not retried"
    figures.setdefault("upstream_start", {})["invalid_signature"] = stderr.strip().splitlines()[-1][-160:]


async def test_clock_jumping_back_is_recovered_by_a_resync(cfake: FakeLabArchives, log_file: Path) -> None:
    """A clock step the other way (LabArchives' clock, or ours after an NTP correction, moves by more than
    the 5-minute future tolerance): expires is refused as too far in the future (4529). Expected: the
    client re-syncs once, as it does for 4504, and the call succeeds; today every call fails until restart."""
    env = adversarial_env(cfake, log_file, LABARCHIVES_CACHE_TTL="0")
    with trio.fail_after(60):
        async with stdio_client(env) as client:
            assert not (await client.call_tool("list_notebooks", {})).is_error
            cfake.config.clock_offset_ms = -600_000
            result = await client.call_tool("search", {"query": "PCR"})
            assert not result.is_error, text_of(result)
