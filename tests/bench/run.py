"""``python -m tests.bench``: every figure, ours against a baseline from the same run, as one Markdown table.

Sections come from the ``figures_*`` modules of this package (see ``tests/bench/context.py`` for
how to add one); they run one after another against one demo fake served from this process.
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import trio

import tests.bench
from labmcp.fake.serve import FakeLabArchives
from tests.bench.context import Bench, Plan, Section
from tests.bench.peer import ROOT
from tests.bench.report import Row, machine, table

DEFAULT_OUT = ROOT / ".venv" / "bench-results.md"


def sections() -> list[Section]:
    """Every section of every ``tests/bench/figures_*.py`` module, in table order."""
    found: list[Section] = []
    for info in pkgutil.iter_modules(tests.bench.__path__):
        if info.name.startswith("figures_"):
            module = importlib.import_module(f"tests.bench.{info.name}")
            found.extend(getattr(module, "SECTIONS", ()))
    names = [s.name for s in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SystemExit(f"bench: two sections share a name: {', '.join(duplicates)}")
    return sorted(found, key=lambda s: (s.order, s.name))


def failed_row(section: Section, exc: BaseException) -> Row:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {Path(where.filename).name}:{where.lineno}" if where else ""
    message = " ".join(str(exc).split())[:200]
    return Row(f"Section {section.name!r} failed", f"{type(exc).__name__}{at}: {message}", None, goal="runs", met=False)


async def measure(plan: Plan, chosen: Sequence[Section], notes: list[str]) -> tuple[list[Row], bool]:
    """Every chosen section in turn; returns the rows and whether every section ran to the end."""
    rows: list[Row] = []
    timings: list[str] = []
    ok = True
    # Our modules are imported from this checkout, the baselines' from site-packages, which pip
    # compiled on install. Compile ours too, so start-up compares imports with imports: where
    # PYTHONDONTWRITEBYTECODE is set (as on this project's machines) every edited module would
    # otherwise be compiled again on every spawn and counted as our start-up.
    if not compileall.compile_dir(ROOT / "labmcp", quiet=1):
        raise SystemExit("bench: labmcp did not compile")
    notes.append("labmcp's modules were compiled to bytecode first (compileall), as pip does on install.")
    fake = FakeLabArchives.demo()
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.serve)
        bench = Bench(plan, fake, notes)
        for section in chosen:
            started = time.perf_counter()
            try:
                rows.extend(await section.run(bench))
            except Exception as exc:  # one broken section must not hide the others' figures
                ok = False
                traceback.print_exc(file=sys.stderr)
                rows.append(failed_row(section, exc))
            timings.append(f"{section.name} {time.perf_counter() - started:.0f} s")
        nursery.cancel_scope.cancel()
    notes.append("Section times: " + ", ".join(timings))
    return rows, ok


def render(rows: Sequence[Row], notes: Sequence[str], seconds: float, command: str) -> str:
    lines = [
        f"Machine: {machine()}",
        "",
        table(rows),
        "",
        *(f"- {note}" for note in notes),
        f"- `{command}` took {seconds:.0f} s on {time.strftime('%Y-%m-%d %H:%M %Z')}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tiny run that proves the benchmarks still work")
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"where to write the table (default {DEFAULT_OUT})"
    )
    parser.add_argument("--no-pyz", action="store_true", help="skip the pyz and shiv figures")
    parser.add_argument("--only", metavar="SECTION[,SECTION]", help="run only these sections (see --list)")
    parser.add_argument("--list", action="store_true", help="print the sections in table order and exit")
    args = parser.parse_args(argv)
    every = sections()
    if args.list:
        print("\n".join(f"{s.name}" for s in every))
        return 0
    chosen = every
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {s.name for s in every})
        if unknown:
            parser.error(f"unknown section(s) {', '.join(unknown)}; --list shows them")
        chosen = [s for s in every if s.name in wanted]
    plan = Plan.quick_plan() if args.quick else Plan.full()
    if args.no_pyz:
        plan = replace(plan, pyz=False)
    notes: list[str] = []
    started = time.perf_counter()
    rows, ok = trio.run(measure, plan, chosen, notes)
    command = " ".join(["python -m tests.bench", *(argv if argv is not None else sys.argv[1:])])
    text = render(rows, notes, time.perf_counter() - started, command)
    print(text, end="")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    return 0 if ok else 1
