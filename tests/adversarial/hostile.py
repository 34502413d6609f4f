"""A hostile LabArchives against the real server process, with the peak RSS of every case.

Shared by the adversarial test (``test_upstream_memory.py``, which asserts every case) and by
``make bench`` (``tests/bench/figures_memory.py``, one memory row per case). The server runs with
default settings (pacing off only), spoken to by the official SDK client over stdio; the fake
serves the demo lab plus a hostile notebook (pages and files at and past the default caps, files
whose bytes lie about their type or size) and a notebook of 600 folders. Before each case the
server's peak-RSS mark is reset (``/proc/<pid>/clear_refs``), after it ``VmHWM`` is that case's
peak. After each case the server must still answer.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError

from labmcp.fake import FakeLabArchives, demo
from labmcp.fake.demo_files import pdf, png
from labmcp.fake.faults import bomb
from labmcp.labarchives.models import PART_PLAIN_TEXT, PART_TEXT
from labmcp.notebook import uris
from tests.adversarial.support import leaked_secrets
from tests.bench.figures_render import entry_html
from tests.e2e.helpers import stdio_client, structured, text_of

MIB = 1024 * 1024
LIMIT_MIB = 128.0
"""The k8s pod's memory limit; every case's peak must stay under it."""
FOLDERS = 600
CACHE_PAGES = 12
RICH_PAGES = 6
RICH_CHARS = 2_000_000
RARE_WORD = "xyloquartz"
BOMB = 256 * MIB

UTF16_BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
    "<tree-tools><entries><entry><eid>x</eid><part-type>heading</part-type>"
    "<entry-data>&lol2;</entry-data></entry></entries></tree-tools>"
).encode("utf-16")
SVG_WITH_SCRIPT = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def _jpeg(width: int, height: int) -> bytes:
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + sof0 + b"\xff\xd9"


def _csv(size: int) -> bytes:
    row = b"well,sample,a450,a600,note\n" + b"A01,S01-A01,0.1234,0.5678,ok\n" * 40
    return (row * (size // len(row) + 1))[:size]


def _big_pdf() -> bytes:
    """About 3.9 MB of text PDF in 350 pages: the largest document a default download cap allows."""
    wide = "x" * 150
    lines = [f"line {i}: OD600 0.{i:03d} {wide}" for i in range(48)]
    return pdf([(f"Page {p}", lines) for p in range(350)])


@dataclass(frozen=True, slots=True)
class Lab:
    """Ids of what the hostile notebook holds."""

    nbid: str
    pages: dict[str, str]
    files: dict[str, tuple[str, str]]
    many_nbid: str
    deepest_page: str


def add_hostile_lab(fake: FakeLabArchives) -> Lab:
    """Add the hostile and the many-folders notebooks to the fake's store (before the server starts)."""
    store, at = fake.store, 1_767_225_600
    nb = store.add_notebook("Hostile upstream", [demo.UID]).nbid
    pages: dict[str, str] = {}

    def text_page(name: str, text: str) -> None:
        page = store.add_page(nb, name)
        store.add_entry(page.tree_id, PART_PLAIN_TEXT, text, owner=demo.UID, at=at)
        pages[name] = page.tree_id

    line = "Passage 12, flask 3: confluent, media changed, 37 C, 5% CO2.\n"
    text_page("Big page", line * (int(3.5 * MIB) // len(line)))
    text_page("Over the cap", line * (5 * MIB // len(line)))
    shared = line * (3 * MIB // len(line))  # one string object for every cache page
    for n in range(CACHE_PAGES):
        text_page(f"Cache page {n}", shared)
    rich = entry_html(RICH_CHARS)  # the demo's rich text, tables and all, repeated to 2 MB of HTML
    middle = rich.rfind("</p>", 0, len(rich) // 2) + len("</p>")
    rich = rich[:middle] + f"<p>Rare marker {RARE_WORD} reading.</p>" + rich[middle:]
    for n in range(RICH_PAGES):
        page = store.add_page(nb, f"Rich page {n}")
        store.add_entry(page.tree_id, PART_TEXT, rich, owner=demo.UID, at=at)
        pages[page.display_text] = page.tree_id
    files_page = store.add_page(nb, "Files").tree_id
    pages["Files"] = files_page
    attachments = {
        "plate_big.csv": (_csv(4 * MIB - 64 * 1024), "text/csv"),
        "archive.bin": (bytes(6 * MIB), "application/octet-stream"),
        "gel_scan.png": (_jpeg(640, 480), "image/png"),
        "wide.png": (png(9000, 120, lambda x, y: (x % 256, 0, 0)), "image/png"),
        "script.png": (SVG_WITH_SCRIPT, "image/png"),
        "page.jpg": (HTML_PAGE, "image/jpeg"),
        "photo.png": (png(64, 48, lambda x, y: (0, y * 5, 0)), "image/png"),
        "small.csv": (_csv(10_000), "text/csv"),
        "report.pdf": (_big_pdf(), "application/pdf"),
    }
    files = {
        name: (files_page, store.add_attachment(files_page, name, data, ctype, owner=demo.UID, at=at).eid)
        for name, (data, ctype) in attachments.items()
    }
    many = store.add_notebook("Many folders", [demo.UID]).nbid
    for n in range(FOLDERS):
        folder = store.add_folder(many, f"Folder {n:03d}")
        last = store.add_page(many, f"Day {n:03d}", folder.tree_id)
    return Lab(nb, pages, files, many, last.tree_id)


# --- the server process's memory, from /proc --------------------------------------------------


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            found.update(int(pid) for pid in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def _status_kib(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise LookupError(field_name)


def peak_mib(pid: int) -> float:
    """The process's peak resident set since start or the last ``reset_peak`` (VmHWM), MiB."""
    return _status_kib(pid, "VmHWM") / 1024


def reset_peak(pid: int) -> None:
    """Set VmHWM back to the current RSS (``clear_refs`` 5, Linux >= 4.0)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


# --- the cases ------------------------------------------------------------------------------------


@dataclass(slots=True)
class Ctx:
    client: Client
    fake: FakeLabArchives
    lab: Lab
    since: int = 0

    def calls(self, method: str) -> int:
        return sum(1 for r in self.fake.log[self.since :] if r.api_method == method)

    def page_args(self, name: str) -> dict[str, str]:
        return {"notebook_id": self.lab.nbid, "page_id": self.lab.pages[name]}

    def file_args(self, name: str, **extra: Any) -> dict[str, Any]:
        page, eid = self.lab.files[name]
        return {"notebook_id": self.lab.nbid, "page_id": page, "entry_id": eid, **extra}

    def file_uri(self, name: str) -> str:
        page, eid = self.lab.files[name]
        return uris.attachment_uri(self.lab.nbid, page, eid)


async def _error(ctx: Ctx, tool: str, args: dict[str, Any], *needles: str) -> str:
    result = await ctx.client.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error, f"expected an error, got: {text[:300]}"
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text[:300]!r}"
    assert not leaked_secrets(text), text
    return text


def _no_image(result: types.CallToolResult) -> dict[str, Any]:
    assert not any(isinstance(b, types.ImageContent) for b in result.content), "an image was inlined"
    return structured(result)


async def gzip_bomb(ctx: Ctx) -> str:
    bomb(BOMB, ("gzip", "gzip"))  # seconds of CPU: spent now, not while the server waits for the answer
    ctx.fake.faults.add("encoded", "get_entries_for_page", None, encodings="gzip, gzip", inflated=BOMB)
    return await _error(ctx, "read_page", ctx.page_args("Files"), "get_entries_for_page", "4194304")


async def unknown_encoding(ctx: Ctx) -> str:
    ctx.fake.faults.add("encoded", "get_entries_for_page", None, encodings="br")
    return await _error(ctx, "read_page", ctx.page_args("Files"), "Content-Encoding")


async def gzip_legit(ctx: Ctx) -> str:
    ctx.fake.faults.add("encoded", "get_entries_for_page", None, encodings="gzip")
    data = structured(await ctx.client.call_tool("read_page", ctx.page_args("Files")))
    assert data["entry_count"] == len(ctx.lab.files)
    return f"read_page answered through gzip: {data['entry_count']} entries"


async def utf16_dtd(ctx: Ctx) -> str:
    ctx.fake.faults.add(
        "custom", "get_entries_for_page", None, body=UTF16_BILLION_LAUGHS, content_type="application/xml"
    )
    return await _error(ctx, "read_page", ctx.page_args("Cache page 0"), "DTD")  # a page not cached yet


async def big_xml(ctx: Ctx) -> str:
    data = structured(await ctx.client.call_tool("read_page", ctx.page_args("Big page")))
    assert data["truncated"] and data["total_chars"] > 3 * MIB
    return f"first window of {data['total_chars']:,} characters"


async def xml_over_cap(ctx: Ctx) -> str:
    return await _error(ctx, "read_page", ctx.page_args("Over the cap"), "get_entries_for_page", "4194304")


async def search_rich_pages(ctx: Ctx) -> str:
    args = {"query": RARE_WORD, "limit": 10}
    first = structured(await ctx.client.call_tool("search", args))
    assert len(first["results"]) == RICH_PAGES, first["results"]
    assert all(RARE_WORD in hit["snippet"] for hit in first["results"])
    mark = len(ctx.fake.log)
    again = structured(await ctx.client.call_tool("search", args))
    assert again["results"] == first["results"]
    repeat_calls = len(ctx.fake.log) - mark
    assert repeat_calls == 0, f"the repeated search made {repeat_calls} LabArchives calls"
    return f"{RICH_PAGES} hits in 2 MB rich-text entries; the repeat made no call"


async def read_rich_page(ctx: Ctx) -> str:
    data = structured(await ctx.client.call_tool("read_page", ctx.page_args("Rich page 0")))
    assert data["total_chars"] > RICH_CHARS // 2, data["total_chars"]
    return f"first window of {data['total_chars']:,} characters of Markdown"


async def full_cache(ctx: Ctx) -> str:
    for n in range(CACHE_PAGES):
        data = structured(await ctx.client.call_tool("read_page", ctx.page_args(f"Cache page {n}")))
        assert data["total_chars"] > 2 * MIB
    return f"{CACHE_PAGES} pages of 3 MB read in turn"


async def big_csv_windows(ctx: Ctx) -> str:
    window = None
    start = 0
    for _ in range(4):
        data = structured(
            await ctx.client.call_tool("get_attachment", ctx.file_args("plate_big.csv", start_index=start))
        )
        assert data["returned"] == "text" and data["content"]
        window = data
        start = data["next_start_index"]
    assert window is not None
    downloads = ctx.calls("entry_attachment")
    assert downloads <= 1, f"{downloads} downloads for 4 windows of one file"
    return f"4 windows of a {window['total_chars']:,}-character CSV, {downloads} download"


async def big_pdf(ctx: Ctx) -> str:
    result = await ctx.client.call_tool("get_attachment", ctx.file_args("report.pdf"))
    data = structured(result)
    assert data["returned"] == "text" and data["total_chars"] > 500_000, data.get("returned")
    return f"first window of {data['total_chars']:,} extracted characters"


async def big_resource(ctx: Ctx) -> str:
    contents = (await ctx.client.read_resource(ctx.file_uri("plate_big.csv"))).contents
    blob = contents[0]
    assert isinstance(blob, types.BlobResourceContents)
    size = len(base64.b64decode(blob.blob))
    assert size == 4 * MIB - 64 * 1024, size
    return f"resources/read of {size:,} bytes"


async def download_over_cap(ctx: Ctx) -> str:
    try:
        await ctx.client.read_resource(ctx.file_uri("archive.bin"))
    except MCPError as exc:
        assert "download cap" in str(exc), str(exc)
        return str(exc)[:160]
    raise AssertionError("a 6 MiB file was served over the 4 MiB cap")


async def lying_type(ctx: Ctx) -> str:
    data = _no_image(await ctx.client.call_tool("get_attachment", ctx.file_args("gel_scan.png")))
    assert data["returned"] == "link" and "image/jpeg" in data["problem"], data
    return data["problem"]


async def huge_sides(ctx: Ctx) -> str:
    result = await ctx.client.call_tool("get_attachment", ctx.file_args("wide.png"))
    data = _no_image(result)
    assert "9000x120" in text_of(result), text_of(result)
    return f"returned {data['returned']}: 9000x120 px is over 8000 px"


async def svg_as_image(ctx: Ctx) -> str:
    data = _no_image(await ctx.client.call_tool("get_attachment", ctx.file_args("script.png")))
    assert "svg" in data["problem"]
    contents = (await ctx.client.read_resource(ctx.file_uri("script.png"))).contents
    assert contents[0].mime_type == "application/octet-stream", contents[0].mime_type
    return data["problem"]


async def html_as_image(ctx: Ctx) -> str:
    data = _no_image(await ctx.client.call_tool("get_attachment", ctx.file_args("page.jpg")))
    assert "text/html" in data["problem"]
    return data["problem"]


async def real_image(ctx: Ctx) -> str:
    result = await ctx.client.call_tool("get_attachment", ctx.file_args("photo.png"))
    images = [b for b in result.content if isinstance(b, types.ImageContent)]
    assert len(images) == 1 and images[0].mime_type == "image/png", text_of(result)
    return "a real 64x48 PNG is inlined"


async def lying_size(ctx: Ctx) -> str:
    ctx.fake.faults.add("truncated_xml", "entry_attachment", None)
    return await _error(ctx, "get_attachment", ctx.file_args("small.csv"), "listing says")


async def empty_body(ctx: Ctx) -> str:
    ctx.fake.faults.add("custom", "entry_attachment", None, body=b"", content_type="application/xml")
    return await _error(ctx, "get_attachment", ctx.file_args("small.csv", start_index=1), "entry_attachment")


async def error_document(ctx: Ctx) -> str:
    body = b'<?xml version="1.0"?><error><error-code>4999</error-code><error-description>x</error-description></error>'
    ctx.fake.faults.add("custom", "entry_attachment", None, body=body, content_type="application/xml")
    return await _error(ctx, "get_attachment", ctx.file_args("small.csv", start_index=2), "4999")


async def echoing_error(ctx: Ctx) -> str:
    ctx.fake.faults.add("echo_error", "get_entries_for_page", None, status=403)
    text = await _error(ctx, "read_page", ctx.page_args("Big page"), "4999")
    for value in (demo.UID, demo.AKID, "expires=1", "sig=A"):
        assert value not in text, f"{value!r} echoed: {text}"
    return text[:160]


async def walk_amplification(ctx: Ctx) -> str:
    """A made-up page id among 600 folders costs one get_node; a real page in the last folder, where
    get_node names no parent (§6.3 leaves it open) so placement must search downwards, costs at most
    the call limit per request, each request going on where the last stopped, then nothing."""
    made_up = {"notebook_id": ctx.lab.many_nbid, "page_id": "made-up-page"}
    assert (await ctx.client.call_tool("read_page", made_up)).is_error
    deepest = {"notebook_id": ctx.lab.many_nbid, "page_id": ctx.lab.deepest_page}
    costs: list[int] = []
    ctx.fake.config.node_parent = False
    try:
        for _ in range(FOLDERS // 50):
            since = len(ctx.fake.log)
            result = await ctx.client.call_tool("read_page", deepest)
            costs.append(len(ctx.fake.log) - since)
            if not result.is_error:
                break
            assert "LABARCHIVES_MAX_CALLS_PER_REQUEST" in text_of(result), text_of(result)
        assert not result.is_error, text_of(result)
        assert max(costs) <= 100, costs
        since = len(ctx.fake.log)
        for args in (made_up, deepest):
            await ctx.client.call_tool("read_page", args)
    finally:
        ctx.fake.config.node_parent = True
    assert len(ctx.fake.log) == since, "asked again, the made-up id or the found page cost calls"
    return f"calls per request {costs}, then 0"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    expected: str
    run: Callable[[Ctx], Awaitable[str]]


CASES = (
    Case("gzip, gzip bomb: 256 MiB of zeros", "error naming the method and the 4 MiB cap", gzip_bomb),
    Case("Content-Encoding: br", "error: coding not accepted", unknown_encoding),
    Case("a legitimate gzip page", "the page", gzip_legit),
    Case("UTF-16 billion laughs", "error naming the DTD", utf16_dtd),
    Case("3.5 MB page", "first window", big_xml),
    Case("5 MB page, over the XML cap", "error naming the cap", xml_over_cap),
    Case(f"{CACHE_PAGES} pages of 3 MB, a full cache", "every page", full_cache),
    Case("read_page of a 2 MB rich-text entry", "first window", read_rich_page),
    Case(
        f"search: {RICH_PAGES} hits in 2 MB rich-text entries, twice",
        "snippets; the repeat calls nothing",
        search_rich_pages,
    ),
    Case("4 windows of a 3.9 MiB CSV", "one download", big_csv_windows),
    Case("resources/read of a 3.9 MiB file", "the whole file", big_resource),
    Case("get_attachment of a 3.9 MB, 350-page PDF", "extracted text", big_pdf),
    Case("6 MiB file, over the download cap", "error naming the cap", download_over_cap),
    Case("gel_scan.png holding JPEG bytes", "no image; metadata, link, note", lying_type),
    Case("9000x120 PNG", "not inlined", huge_sides),
    Case("SVG with a script declared image/png", "never an image", svg_as_image),
    Case("HTML declared image/jpeg", "never an image", html_as_image),
    Case("real 64x48 PNG", "inlined", real_image),
    Case("download shorter than its listing", "error naming the listing", lying_size),
    Case("empty body with 200 on entry_attachment", "error", empty_body),
    Case("an error document with 200 on entry_attachment", "error naming 4999", error_document),
    Case("WAF page echoing the signed request", "error without sig, akid, uid, expires", echoing_error),
    Case(f"page ids among {FOLDERS} folders, no parent from get_node", "bounded calls, then none", walk_amplification),
)


@dataclass(slots=True)
class Outcome:
    name: str
    expected: str
    answer: str
    ok: bool
    before_mib: float
    peak_mib: float
    serving: bool


@dataclass(slots=True)
class Run:
    start_peak_mib: float
    outcomes: list[Outcome] = field(default_factory=list)


async def run_cases(fake: FakeLabArchives, lab: Lab, env: dict[str, str], cases: tuple[Case, ...] = CASES) -> Run:
    """Start the server, run every case in turn, and measure each case's peak RSS."""
    before = _children()
    async with stdio_client(env) as client:
        structured(await client.call_tool("list_notebooks", {}))
        (pid,) = _children() - before
        run = Run(peak_mib(pid))
        for case in cases:
            fake.faults.clear()
            reset_peak(pid)
            before = peak_mib(pid)
            ctx = Ctx(client, fake, lab, len(fake.log))
            try:
                answer, ok = await case.run(ctx), True
            except AssertionError as exc:
                answer, ok = f"FAILED: {exc}", False
            peak = peak_mib(pid)
            fake.faults.clear()
            serving = not (await client.call_tool("list_notebooks", {})).is_error
            run.outcomes.append(Outcome(case.name, case.expected, " ".join(answer.split()), ok, before, peak, serving))
    return run
