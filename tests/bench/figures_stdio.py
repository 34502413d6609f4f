"""Figures over stdio against the demo fake: LabArchives calls per operation, pacing.

Also the helpers other sections share: how to start ours and the minimal server, the demo ids.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labmcp.fake.serve import FakeLabArchives
from tests.bench.context import ORDER_ECONOMY, Bench, Section
from tests.bench.peer import ROOT, clean_env, spawn, wait_started
from tests.bench.report import Row

OURS = (sys.executable, "-m", "labmcp")
MINIMAL = (sys.executable, str(ROOT / "tests" / "bench" / "minimal_server.py"), "stdio")
LARGEST_PAGE = "Live-cell imaging report"
OVERHEAD_PAGE = "Standard PCR protocol"
DEEP_PAGE = "PCR colony screen"
ATTACHMENT = "plate_reader_A450.csv"


def server_env(fake: FakeLabArchives, **extra: str) -> dict[str, str]:
    """Our server pointed at the fake as the demo user (email + token, as a real user configures it)."""
    creds = fake.credentials
    env = clean_env(
        LABARCHIVES_API_BASE=fake.base_url,
        LABARCHIVES_AKID=creds.akid,
        LABARCHIVES_SECRET=creds.password,
        LABARCHIVES_USER=creds.email,
        LABARCHIVES_TOKEN=creds.token.reveal(),
        LABARCHIVES_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@dataclass(frozen=True, slots=True)
class DemoIds:
    """Ids in the demo lab that the figures need, read from the fake's store (no upstream calls)."""

    nbid: str
    largest_page: str
    overhead_page: str
    deep_page: str
    attachment_eid: str


def demo_ids(fake: FakeLabArchives) -> DemoIds:
    store = fake.store
    nbid = next(nb.nbid for nb in store.notebooks.values() if fake.credentials.uid in nb.default_for)
    page = {node.display_text: node.tree_id for node in store.nodes.values() if node.nbid == nbid and node.is_page}
    eid = next(e.eid for e in store.entries.values() if e.attach_file_name == ATTACHMENT)
    return DemoIds(nbid, page[LARGEST_PAGE], page[OVERHEAD_PAGE], page[DEEP_PAGE], eid)


def _operation_args(ids: DemoIds) -> dict[str, dict[str, Any]]:
    return {
        "list_notebooks": {},
        "browse_notebook": {"notebook_id": ids.nbid},
        "read_page": {"notebook_id": ids.nbid, "page_id": ids.deep_page},
        "search": {"query": "PCR", "notebook_id": ids.nbid},
        "get_attachment": {"notebook_id": ids.nbid, "page_id": ids.deep_page, "entry_id": ids.attachment_eid},
    }


def depth(fake: FakeLabArchives, tree_id: str) -> int:
    """Folders above a node (0 for a page at a notebook's top level), from the fake's store."""
    nodes = fake.store.nodes
    count, node = 0, nodes[tree_id]
    while node.parent_id in nodes:
        count, node = count + 1, nodes[node.parent_id]
    return count


async def _first_and_repeat(
    fake: FakeLabArchives, env: Mapping[str, str], name: str, args: Mapping[str, Any]
) -> tuple[list[str], list[str], list[str], dict[str, Any]]:
    """Upstream methods of start-up, then of one operation on a fresh process (cold cache), then of
    its repeat; and the first answer's structured content."""
    mark = len(fake.log)
    async with spawn(OURS, env) as peer:
        await peer.initialize()
        await wait_started(peer)
        start_up = [r.api_method for r in fake.log[mark:]]
        calls: list[list[str]] = []
        answers: list[dict[str, Any]] = []
        for _ in range(2):
            mark = len(fake.log)
            answers.append(await peer.call_tool(name, args))
            calls.append([r.api_method for r in fake.log[mark:]])
    return start_up, calls[0], calls[1], answers[0].get("structuredContent") or {}


def _describe(methods: Sequence[str]) -> str:
    tally: dict[str, int] = {}
    for m in methods:
        tally[m] = tally.get(m, 0) + 1
    return ", ".join(f"{m}×{n}" if n > 1 else m for m, n in tally.items())


def _count(methods: list[str] | None) -> int | None:
    return None if methods is None else len(methods)


def _first_goal(name: str, page_depth: int, answer: Mapping[str, Any]) -> tuple[str, int | None]:
    """Issue 20's bound on a cold first call: 1 call; 2 + depth where a page must be placed (plus the
    download for an attachment); 1 + the distinct pages among a search's hits (all unplaced when cold)."""
    if name in ("list_notebooks", "browse_notebook"):
        return "≤ 1", 1
    if name == "read_page":
        return f"≤ 2 + depth = {2 + page_depth}", 2 + page_depth
    if name == "get_attachment":
        return f"≤ 2 + depth + 1 download = {3 + page_depth}", 3 + page_depth
    if name == "search":
        pages = len({hit.get("page_id") for hit in answer.get("results", [])})
        return f"≤ 1 + hits' pages = {1 + pages}", 1 + pages
    return "–", None


async def economy(bench: Bench) -> list[Row]:
    """Calls per operation, each first call on a fresh process (nothing cached by an earlier operation),
    against the same server with caches off (baseline)."""
    fake = bench.fake
    ids = demo_ids(fake)
    ours_env = server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0")
    naive_env = server_env(fake, LABARCHIVES_REQUEST_INTERVAL="0", LABARCHIVES_CACHE_TTL="0")
    page_depth = depth(fake, ids.deep_page)
    rows: list[Row] = []
    operations = _operation_args(ids)
    if bench.plan.quick:  # one fresh process per operation: the smoke run keeps three of them
        operations = {name: operations[name] for name in ("read_page", "search", "get_attachment")}
    for name, args in operations.items():
        start_up, first, repeat, answer = await _first_and_repeat(fake, ours_env, name, args)
        naive_first: list[str] | None = None
        naive_repeat: list[str] | None = None
        if not bench.plan.quick:  # the smoke run proves the counting, not the baseline
            _, naive_first, naive_repeat, _ = await _first_and_repeat(fake, naive_env, name, args)
        if not rows:
            rows.append(Row("Upstream calls: start-up", len(start_up), None, note=_describe(start_up)))
        goal, bound = _first_goal(name, page_depth, answer)
        rows.append(
            Row(f"Upstream calls: {name} first (fresh cache)", len(first), _count(naive_first), "", goal,
                None if bound is None else len(first) <= bound, _describe(first))
        )  # fmt: skip
        rows.append(
            Row(f"Upstream calls: {name} repeat", len(repeat), _count(naive_repeat), "", "0", not repeat,
                _describe(repeat))
        )  # fmt: skip
    bench.note(
        f"Upstream calls: each operation runs first on a fresh server process (cold cache), then again; "
        f"the read page is {page_depth} folders deep; baseline = the same server with caches off."
    )
    return rows


async def pacing(bench: Bench) -> list[Row]:
    """N concurrent tool calls right after a paced call: wall time against N x interval; gaps in the fake's log."""
    fake, n, interval = bench.fake, bench.plan.pacing_calls, bench.plan.pacing_interval
    env = server_env(fake) if interval == 1.0 else server_env(fake, LABARCHIVES_REQUEST_INTERVAL=str(interval))
    arrivals: list[float] = []
    inner = fake.handler.handle

    def stamped(request: Any, now_ms: int) -> Any:
        # The fake logs after handling; stamp arrival instead, so handling time does not blur the gaps.
        arrivals.append(time.monotonic())
        return inner(request, now_ms)

    async with spawn(OURS, env) as peer:
        await peer.initialize()
        setattr(fake.handler, "handle", stamped)  # noqa: B010  # instance-level wrap, undone below
        try:
            await peer.call_tool("search", {"query": "bench-warmup-nohit"})
            started = time.perf_counter()
            ids = [
                await peer.send_request("tools/call", {"name": "search", "arguments": {"query": f"nohit-{i}"}})
                for i in range(n)
            ]
            for request_id in ids:
                await peer.answer(request_id)
            wall = time.perf_counter() - started
        finally:
            delattr(fake.handler, "handle")
    times = arrivals
    gaps = [b - a for a, b in itertools.pairwise(times)]
    violations = sum(1 for g in gaps if g < interval * 0.995)
    ideal = n * interval
    return [
        Row(
            f"Pacing: {n} concurrent tool calls at a {interval:g} s interval, wall time",
            wall,
            ideal,
            "s",
            "within 5 % of N × interval",
            abs(wall - ideal) <= 0.05 * ideal,
            "sent right after a paced call; baseline = N × interval",
        ),
        Row(
            "Pacing: spacing violations at the fake (arrival gap < 0.995 × interval)",
            violations,
            0,
            "",
            "0",
            violations == 0,
            f"{len(gaps)} gaps, smallest {min(gaps):.3f} s" if gaps else "no gaps",
        ),
    ]


SECTIONS = (
    Section(
        "economy",
        ORDER_ECONOMY,
        economy,
        smoke=("Upstream calls: start-up", "Upstream calls: read_page first", "Upstream calls: get_attachment repeat"),
    ),
    Section(
        "pacing", ORDER_ECONOMY + 1, pacing, smoke=("Pacing: 2 concurrent tool calls", "Pacing: spacing violations")
    ),
)
