"""Hostile and large attachments for get_attachment against the real server process, with peak RSS.

Cases for ``run_cases`` (``hostile.py``): Office zip bombs, a PDF flate bomb, a PDF with more pages
than allowed, and large legitimate files just under the default 4 MiB download cap. Each must answer
with text or a clear error naming the file and the limit, keep the server serving, and stay under the
pod's 128 MiB.
"""

from __future__ import annotations

import zlib

from labmcp.fake import FakeLabArchives, demo, demo_files, demo_office
from tests.adversarial.hostile import MIB, Case, Ctx, Lab, _error
from tests.e2e.helpers import structured
from tests.zips import with_member

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx_bomb() -> bytes:
    """80 MiB of paragraphs in one part, a few hundred KB zipped."""
    paragraph = b"<w:p><w:r><w:t>" + b"A" * 100 + b"</w:t></w:r></w:p>"
    body = f'<w:document xmlns:w="{W}"><w:body>'.encode() + paragraph * 640_000 + b"</w:body></w:document>"
    return with_member(demo_office.docx("bomb", []), "word/document.xml", body)


def _pdf_bomb() -> bytes:
    """One page whose content stream inflates to 256 MiB."""
    flate = zlib.compress(b"0" * (256 * MIB), 9)
    stream = b"<< /Length " + str(len(flate)).encode() + b" /Filter /FlateDecode >>\nstream\n" + flate + b"\nendstream"
    return demo_files.pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream,
        ]
    )


def _big_sheet() -> bytes:
    rows: list[list[demo_office.Cell]] = [["Well", "A450", "A600", "Sample", "Note"]]
    rows += [[f"W{i:06d}", i / 7, i / 11, f"S{i % 97:02d}", f"run {i % 13}"] for i in range(60_000)]
    return demo_office.xlsx([("Plate", rows)])


def add_hostile_files(fake: FakeLabArchives, lab: Lab) -> None:
    """Add the hostile attachments to the lab's "Files" page (before the server starts)."""
    files_page = lab.pages["Files"]
    attachments = {
        "bomb.docx": (_docx_bomb(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        "bomb.pdf": (_pdf_bomb(), "application/pdf"),
        "long.pdf": (demo_files.pdf([(f"Page {n}", [f"line {n}.{k}" for k in range(30)]) for n in range(600)]),
                     "application/pdf"),
        "big_sheet.xlsx": (_big_sheet(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    }  # fmt: skip
    for name, (data, ctype) in attachments.items():
        assert len(data) < 4 * MIB, (name, len(data))
        entry = fake.store.add_attachment(files_page, name, data, ctype, owner=demo.UID, at=1_767_225_600)
        lab.files[name] = (files_page, entry.eid)


async def docx_bomb(ctx: Ctx) -> str:
    data = structured(await ctx.client.call_tool("get_attachment", ctx.file_args("bomb.docx")))
    assert data["format"] == "docx" and data["content"], data
    assert any("cut after" in n for n in data["notes"]), data["notes"]
    return f"first window of {data['total_chars']:,} characters; note: {data['notes'][0]}"


async def pdf_bomb(ctx: Ctx) -> str:
    return await _error(ctx, "get_attachment", ctx.file_args("bomb.pdf"), "bomb.pdf", "limit")


async def too_many_pages(ctx: Ctx) -> str:
    return await _error(
        ctx, "get_attachment", ctx.file_args("long.pdf"), "long.pdf", "600 pages, over the limit of 500"
    )


async def big_sheet_windows(ctx: Ctx) -> str:
    start, calls = 0, 0
    for _ in range(3):
        data = structured(
            await ctx.client.call_tool("get_attachment", ctx.file_args("big_sheet.xlsx", start_index=start))
        )
        assert data["format"] == "xlsx" and data["content"].count("\n") > 10
        start, calls = data["next_start_index"], calls + 1
    downloads = ctx.calls("entry_attachment")
    assert downloads <= 1, f"{downloads} downloads for {calls} windows"
    return f"{calls} windows of {data['total_chars']:,} characters, {downloads} download; notes: {data['notes']}"


CASES = (
    Case("DOCX zip bomb: 80 MiB of paragraphs", "first window, cut at the character limit", docx_bomb),
    Case("PDF flate bomb: 256 MiB content stream", "error naming the file and the cap", pdf_bomb),
    Case("PDF of 600 pages", "error naming the page limit", too_many_pages),
    Case("XLSX of 300,000 cells", "windows from one download and one extraction", big_sheet_windows),
)
