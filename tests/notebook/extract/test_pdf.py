"""PDF text per page against another reader (pdfminer.six), encrypted and scanned PDFs, and hostile PDFs
that must end in a clear ExtractionError naming the limit (ISO 32000-1; pypdf's own limits lowered)."""

from __future__ import annotations

import io
import zlib

import pypdf
import pytest
from pdfminer.high_level import extract_text as pdfminer_text

from labmcp.errors import ExtractionError
from labmcp.fake import demo_files
from labmcp.notebook.extract import Limits, detect, extract
from tests.notebook.extract.judges import plain

PAGES = [
    ("p53 densitometry", ["Band intensity relative to WT", "WT 1.00", "KO-1 0.04", "# not a heading", "1. not a list"]),
    ("p21 densitometry", ["WT 1.00", "KO-1 0.18 (p<0.05)", "lane_3 * [excluded]"]),
    ("Methods", ["Rolling ball background 50 px."]),
]


def _words(text: str) -> list[str]:
    return text.split()


def test_each_page_reads_as_pdfminer_reads_it() -> None:
    data = demo_files.pdf(PAGES)
    assert detect(data) == "pdf"
    doc = extract("pdf", data)
    assert [p.title for p in doc.parts] == ["Page 1", "Page 2", "Page 3"]
    for n, part in enumerate(doc.parts):
        judge = pdfminer_text(io.BytesIO(data), page_numbers=[n])
        assert _words(plain(part.body)) == _words(judge)


def test_a_pdf_encrypted_with_a_user_password_says_so() -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(demo_files.pdf(PAGES)))
    writer.encrypt(user_password="s3cret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    doc = extract("pdf", out.getvalue())
    assert doc.no_text and doc.parts == ()
    assert any("encrypted" in note for note in doc.notes)


def test_a_pdf_protected_by_an_owner_password_only_is_read() -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(demo_files.pdf(PAGES)))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    doc = extract("pdf", out.getvalue())
    assert "KO-1 0.04" in plain(doc.parts[0].body)


def test_a_scanned_pdf_without_text_layer_says_so() -> None:
    doc = extract("pdf", demo_files.scanned_pdf())
    assert doc.no_text and any("no text layer" in note for note in doc.notes)


def _page(content: bytes, extra: bytes = b"") -> list[bytes]:
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length " + str(len(content)).encode() + extra + b" >>\nstream\n" + content + b"\nendstream",
    ]


def test_a_flate_bomb_in_a_content_stream_stops_at_the_stream_limit() -> None:
    bomb = zlib.compress(b"0" * (40 * 1024 * 1024), 9)  # 40 MiB of content in ~40 KB
    data = demo_files.pdf_file(_page(bomb, b" /Filter /FlateDecode"))
    with pytest.raises(ExtractionError, match="capped at 1048576 bytes"):
        extract("pdf", data, Limits(max_stream_bytes=1024 * 1024, max_page_content_bytes=512 * 1024))


def test_page_content_over_the_limit_is_refused_before_its_text_is_extracted() -> None:
    content = b"BT /F1 11 Tf 72 700 Td (x) Tj ET\n" * 20_000
    data = demo_files.pdf_file(_page(content))
    with pytest.raises(ExtractionError, match=r"page 1 .* over the limit of 100000"):
        extract("pdf", data, Limits(max_page_content_bytes=100_000))


def test_more_pages_than_the_limit_are_refused_naming_it() -> None:
    data = demo_files.pdf([("p", ["x"])] * 12)
    with pytest.raises(ExtractionError, match="12 pages, over the limit of 10"):
        extract("pdf", data, Limits(max_pages=10))


def test_a_page_tree_that_contains_itself_ends_clearly() -> None:
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>",
    ]
    try:
        doc = extract("pdf", demo_files.pdf_file(objects))
    except ExtractionError:
        return
    assert len(doc.parts) <= Limits().max_pages


def test_deeply_nested_objects_end_in_a_clear_error() -> None:
    nested = b"[" * 200_000 + b"]" * 200_000
    objects = [b"<< /Type /Catalog /Pages 2 0 R /X " + nested + b" >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    try:
        extract("pdf", demo_files.pdf_file(objects))
    except ExtractionError as exc:
        assert "PDF" in str(exc)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.9])
def test_a_truncated_or_garbled_pdf_is_read_or_refused_never_crashes(cut: float) -> None:
    data = demo_files.pdf(PAGES)
    for broken in (data[: int(len(data) * cut)], data[:200] + bytes(range(256)) * 8):
        try:
            extract("pdf", broken)
        except ExtractionError as exc:
            assert "PDF" in str(exc)
