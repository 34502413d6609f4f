"""Rendering figures (issue 20): HTML to Markdown against the standard-library floor, memory for a
2 MB entry, and what a repeated search costs over large entries.

The entry is the demo lab's own rich text (protocol with a table and nested lists, western blot
notes, the imaging report's long table) repeated to 2 MB (scaled down in ``--quick``). The floor is
``html.parser`` tokenising the same text with handlers that do nothing, ABBA-alternated with ours.
"""

from __future__ import annotations

import re
import time
import tracemalloc
from collections.abc import Callable
from html.parser import HTMLParser

from labmcp.fake import demo
from labmcp.labarchives.models import Entry
from labmcp.notebook.excerpts import snippet
from labmcp.notebook.markdown import html_to_markdown
from tests.bench.context import ORDER_RENDERING, Bench, Section
from tests.bench.fair import alternate
from tests.bench.report import Row, compare

ENTRY_CHARS = 2_000_000
SEARCH_HITS = 6


def entry_html(chars: int) -> str:
    """Demo rich text repeated to about ``chars`` characters (inline images left out: they are
    replaced before parsing and would flatter the figure)."""
    piece = "\n".join(
        [
            re.sub(r"<img [^>]*>", "", demo.PCR_PROTOCOL_HTML),
            demo.WESTERN_HTML,
            demo._large_report_html(),
        ]
    )
    text = (piece * (chars // len(piece) + 1))[:chars]
    return text[: text.rfind(">") + 1]  # whole tags only


class _Floor(HTMLParser):
    """html.parser with handlers that do nothing: the cost of tokenising alone."""


def floor(html: str) -> None:
    parser = _Floor(convert_charrefs=True)
    parser.feed(html)
    parser.close()


def _timed(work: Callable[[], object]) -> Callable[[], object]:
    async def run() -> float:
        started = time.perf_counter()
        work()
        return time.perf_counter() - started

    return run  # type: ignore[return-value]


async def rendering(bench: Bench) -> list[Row]:
    size = max(200_000, int(ENTRY_CHARS * bench.plan.scale))
    html = entry_html(size)
    runs = 3 if bench.plan.quick else 5
    ours, base = await alternate(_timed(lambda: html_to_markdown(html)), _timed(lambda: floor(html)), runs)
    per_char = 1e9 / len(html)
    rows = [
        compare(
            f"Rendering: time per character ({len(html) / 1e6:.1f} MB entry)",
            [t * per_char for t in ours],
            [t * per_char for t in base],
            "ns",
            "≤ 2.0× html.parser",
            max_ratio=2.0,
            note="baseline: html.parser tokenising alone",
        )
    ]
    tracemalloc.start()
    try:
        html_to_markdown(html)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rows.append(
        compare(
            f"Rendering: peak extra memory ({len(html) / 1e6:.1f} MB entry)",
            [peak / 2**20],
            [len(html.encode()) / 2**20],
            "MiB",
            "≤ 4.0× the input",
            max_ratio=4.0,
            note="tracemalloc peak while converting; baseline: the entry's size in UTF-8",
        )
    )
    rows.append(await repeated_search(bench, size))
    bench.note(
        "Rendering rows convert the demo lab's rich text repeated to the size shown; the floor is html.parser "
        "with do-nothing handlers on the same text, alternated ABBA with ours."
    )
    return rows


async def repeated_search(bench: Bench, size: int) -> Row:
    """Snippets of a search whose hits are large entries, against finding the query word in them
    with ``str.find`` (the one part that must grow with entry size)."""
    html = entry_html(size)
    middle = len(html) // 2
    large = html[:middle] + "<p>Rare marker OD600 reading.</p>" + html[middle:]
    hits = [Entry(f"b{i}", "text entry", large) for i in range(SEARCH_HITS)]
    runs = 3 if bench.plan.quick else 9
    ours, base = await alternate(
        _timed(lambda: [snippet(e, "OD600") for e in hits]),
        _timed(lambda: [(e.entry_data or "").find("OD600") for e in hits]),
        runs,
    )
    return compare(
        f"Search snippets: {SEARCH_HITS} hits in {size / 1e6:.1f} MB entries, repeated",
        [t * 1e3 for t in ours],
        [t * 1e3 for t in base],
        "ms",
        "≤ 2.0× finding the word",
        max_ratio=2.0,
        note="baseline: str.find of the word in each entry; whole entries were rendered before (27–32 s)",
    )


SECTIONS = (
    Section(
        "rendering",
        ORDER_RENDERING,
        rendering,
        smoke=("Rendering: time per character", "Rendering: peak extra memory", "Search snippets:"),
    ),
)
