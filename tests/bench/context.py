"""What every benchmark section gets, and how a section plugs into ``make bench``.

Adding figures: write ``tests/bench/figures_<topic>.py`` with a module-level ``SECTIONS`` tuple::

    SECTIONS = (
        Section("rendering", ORDER_RENDERING, rendering, smoke=("Rendering: time per character",)),
    )

    async def rendering(bench: Bench) -> list[Row]:
        ...  # measure ours and a baseline in this run, alternating; return one Row per figure

The runner finds every ``figures_*`` module itself (no list to edit), runs the sections in ``order``
(the ORDER_* constants below follow issue 20's goals), prints one table and writes it to
``.venv/bench-results.md``. ``python -m tests.bench --only rendering`` runs one section;
``--list`` names them. ``smoke`` lists figure prefixes the ``--quick`` run must print:
``tests/bench/test_bench_smoke.py`` checks each has a number. A section that raises becomes a
**failed** row and the run exits 1, so one broken section never hides the others' figures.

Rules for a section (see README, Performance): the baseline is measured in the same run (alternate
A/B, report min/median/max via ``report.compare``); scale the work with ``bench.plan`` (``quick``
must finish in seconds); never assert a timing; start your own fake (e.g. a big lab) when the demo
lab is not the right size, and stop it before returning.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from labmcp.fake.serve import FakeLabArchives
from tests.bench.report import Row

ORDER_CALLS = 10
"""Calls per answer on a big lab (issue 20 goal 1)."""
ORDER_RENDERING = 20
ORDER_OVERHEAD = 30
ORDER_STARTUP = 40
ORDER_MEMORY = 50
ORDER_HTTP = 60
ORDER_ECONOMY = 70
"""Calls per operation on the demo lab, pacing."""
ORDER_PYZ = 80


@dataclass(frozen=True, slots=True)
class Plan:
    """How much to measure: the full run (a few minutes on 2 cores) or the smoke run inside `make test`.

    ``runs``: A/B alternations for start-up-like figures; ``iterations``: repetitions of a cheap
    call; ``scale``: 1.0 for the full run, small for ``quick`` — multiply your own sizes by it.
    """

    quick: bool
    runs: int
    warmup: bool
    iterations: int
    pacing_calls: int
    http_clients: tuple[int, ...]
    http_seconds: float
    pyz: bool
    scale: float
    pacing_interval: float = 1.0
    paced_startup: bool = True

    @classmethod
    def full(cls) -> Plan:
        return cls(
            quick=False,
            runs=8,
            warmup=True,
            iterations=100,
            pacing_calls=5,
            http_clients=(10, 32),
            http_seconds=3.0,
            pyz=True,
            scale=1.0,
        )

    @classmethod
    def quick_plan(cls) -> Plan:
        return cls(
            quick=True,
            runs=1,
            warmup=False,
            iterations=5,
            pacing_calls=2,
            http_clients=(4,),
            http_seconds=0.3,
            pyz=False,
            scale=0.02,
            pacing_interval=0.2,
            paced_startup=False,
        )


@dataclass(slots=True)
class Bench:
    """Shared state of one run: the plan, the demo fake (already serving), notes under the table."""

    plan: Plan
    fake: FakeLabArchives
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        """A line printed under the table (what was measured how, what dominates)."""
        self.notes.append(text)


SectionRun = Callable[[Bench], Awaitable[list[Row]]]


@dataclass(frozen=True, slots=True)
class Section:
    """One part of the bench: a name for ``--only``, a place in the table, the rows ``--quick`` must show."""

    name: str
    order: int
    run: SectionRun
    smoke: tuple[str, ...] = ()
