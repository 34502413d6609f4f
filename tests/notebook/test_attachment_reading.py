"""get_attachment over the real client and the demo fake: each kind read from its bytes, windows that
reuse one download, the pages argument, continuation notes, scans, and hostile files named in errors."""

from __future__ import annotations

import re
import zlib

import pytest

from labmcp.errors import ExtractionError, InvalidArgumentError
from labmcp.fake import FakeLabArchives, demo_files, demo_office
from tests.notebook.attachment_support import demo_service, find_files
from tests.zips import with_member

FRAMED = re.compile(r"<<<UNTRUSTED NOTEBOOK CONTENT (\w+) .*?>>>\n(.*)\n<<<END UNTRUSTED NOTEBOOK CONTENT \1>>>", re.S)
"""The frame as the assistant reads it: content between a start and an end marker with the same nonce."""


def downloads(fake: FakeLabArchives) -> int:
    return sum(1 for r in fake.log if r.api_method == "entry_attachment")


async def test_each_kind_is_read_as_markdown_inside_the_frame(fake: FakeLabArchives) -> None:
    expect = {
        "p53_densitometry.pdf": ("pdf", "KO-1 0.04"),
        "western_blot_report.docx": ("docx", "| p21 | 12D1 | 1:500 |"),
        "elisa_A450_2026-03-12.xlsx": ("xlsx", "| 2 | A1 | KO-1 sup 1 |"),
        "lab_meeting_2026-03.pptx": ("pptx", "> Mention that KO-2 grows slower"),
        "plate_reader_A450.csv": ("text", "| A1 | A | 1 | 0.420 | std 1 |"),
        "sample_manifest.json": ("text", '"study": "TP53 knock-out in HEK293T"'),
    }
    async with demo_service(fake) as service:
        files = await find_files(service)
        for name, (kind, needle) in expect.items():
            answer = await service.get_attachment(*files[name])
            text, facts = answer.rendered.markdown, answer.rendered.structured
            assert facts["returned"] == "text" and facts["format"] == kind, name
            framed = FRAMED.search(text)
            assert framed is not None, name
            inside = framed.group(2)
            assert needle in inside, name
            assert facts["filename"] == name and facts["size"] and facts["page_id"] == files[name][1]


async def test_windows_of_one_attachment_cost_one_download_and_concatenate_exactly(fake: FakeLabArchives) -> None:
    async with demo_service(fake) as service:
        files = await find_files(service)
        for name in ("elisa_A450_2026-03-12.xlsx", "plate_reader_A450.csv", "p53_densitometry.pdf"):
            before = downloads(fake)
            pieces, start, calls = [], 0, 0
            while True:
                answer = await service.get_attachment(*files[name], start_index=start, max_chars=100)
                facts = answer.rendered.structured
                pieces.append(facts["content"])
                calls += 1
                if not facts["truncated"]:
                    break
                assert f"start_index={facts['next_start_index']}" in answer.rendered.markdown
                start = facts["next_start_index"]
                assert calls < 200
            assert calls > 2, name
            assert downloads(fake) - before == 1, name
            assert len("".join(pieces)) == facts["total_chars"]


async def test_pages_picks_pdf_pages_and_the_note_says_how_to_go_on(fake: FakeLabArchives) -> None:
    async with demo_service(fake) as service:
        files = await find_files(service)
        pdf = files["p53_densitometry.pdf"]
        answer = await service.get_attachment(*pdf, pages="2-3")
        content = answer.rendered.structured["content"]
        assert "## Page 2" in content and "## Page 3" in content and "## Page 1" not in content
        assert "KO-1 0.18" in content and "KO-1 0.04" not in content
        cut = await service.get_attachment(*pdf, pages="2-", max_chars=40)
        assert "start_index=" in cut.rendered.markdown and 'pages="2-"' in cut.rendered.markdown
        nxt = cut.rendered.structured["next_start_index"]
        more = await service.get_attachment(*pdf, pages="2-", start_index=nxt, max_chars=40)
        assert more.rendered.structured["content"] and "[… continuing Page 2]" in more.rendered.markdown
        with pytest.raises(InvalidArgumentError, match="past the end: the file has 3 page"):
            await service.get_attachment(*pdf, pages="7")
        with pytest.raises(InvalidArgumentError, match="pages must look like"):
            await service.get_attachment(*pdf, pages="two")
        sheet = await service.get_attachment(*files["elisa_A450_2026-03-12.xlsx"], pages="2")
        assert "Run info" in sheet.rendered.structured["content"]
        assert "Plate A450'" not in sheet.rendered.structured["content"]


async def test_a_scanned_pdf_says_it_has_no_text_and_shows_the_thumbnail(fake: FakeLabArchives) -> None:
    async with demo_service(fake) as service:
        files = await find_files(service)
        answer = await service.get_attachment(*files["ponceau_scan.pdf"])
        assert "no text layer" in answer.rendered.markdown
        assert answer.rendered.structured["returned"] == "thumbnail"
        assert answer.image is not None and answer.image.startswith(b"\x89PNG")


async def test_a_legacy_office_file_is_metadata_and_a_link(fake: FakeLabArchives) -> None:
    async with demo_service(fake) as service:
        files = await find_files(service)
        answer = await service.get_attachment(*files["plate_map_2019.xls"])
        assert answer.rendered.structured["returned"] == "link"


async def test_the_type_comes_from_the_bytes_not_the_name(fake: FakeLabArchives) -> None:
    """A PDF uploaded as ``.bin`` with a generic type is read as a PDF; a '.pdf' that is text is text."""
    page = fake.store.add_page(_nbid(fake), "Mislabelled")
    fake.store.add_attachment(
        page.tree_id, "export.bin", demo_files.minimal_pdf("Hidden PDF", ["found me"]), "application/octet-stream",
        owner=_uid(fake), at=1_770_000_000,
    )  # fmt: skip
    fake.store.add_attachment(
        page.tree_id, "notes.pdf", b"just text, not a PDF\n", "application/pdf", owner=_uid(fake), at=1_770_000_000
    )
    async with demo_service(fake) as service:
        files = await find_files(service)
        hidden = await service.get_attachment(*files["export.bin"])
        assert hidden.rendered.structured["format"] == "pdf" and "found me" in hidden.rendered.markdown
        text = await service.get_attachment(*files["notes.pdf"])
        assert text.rendered.structured["format"] == "text" and "just text" in text.rendered.markdown


async def test_hostile_files_fail_clearly_naming_the_file_and_the_server_goes_on(fake: FakeLabArchives) -> None:
    page = fake.store.add_page(_nbid(fake), "Hostile uploads")
    body = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
    body += b"<w:r><w:t>" + b"A" * (80 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"
    bomb = with_member(demo_office.docx("x", []), "word/document.xml", body)
    fake.store.add_attachment(page.tree_id, "bomb.docx", bomb, "application/octet-stream", owner=_uid(fake), at=1)
    flate = zlib.compress(b"0" * (64 * 1024 * 1024), 9)
    stream = b"<< /Length " + str(len(flate)).encode() + b" /Filter /FlateDecode >>\nstream\n" + flate + b"\nendstream"
    pdf = demo_files.pdf_file(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            stream,
        ]
    )
    fake.store.add_attachment(page.tree_id, "bomb.pdf", pdf, "application/pdf", owner=_uid(fake), at=1)
    async with demo_service(fake) as service:
        files = await find_files(service)
        with pytest.raises(ExtractionError, match=r"^bomb\.docx: .*the limit"):
            await service.get_attachment(*files["bomb.docx"])
        with pytest.raises(ExtractionError, match=r"^bomb\.pdf: .*capped at \d+ bytes"):
            await service.get_attachment(*files["bomb.pdf"])
        ok = await service.get_attachment(*files["p53_densitometry.pdf"])
        assert "KO-1 0.04" in ok.rendered.markdown


def _nbid(fake: FakeLabArchives) -> str:
    return next(nb.nbid for nb in fake.store.notebooks.values() if re.match("Molecular", nb.name))


def _uid(fake: FakeLabArchives) -> str:
    from labmcp.fake.demo import UID  # noqa: PLC0415

    return UID
