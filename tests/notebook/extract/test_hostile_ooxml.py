"""Hostile Office files: zip bombs, too many entries, DTDs and entities in any encoding, deep nesting,
damaged zips. Each ends in an ExtractionError that names the limit or the fault, within bounded work."""

from __future__ import annotations

import pytest

from labmcp.errors import ExtractionError
from labmcp.fake import demo_office
from labmcp.notebook.extract import Limits, detect, extract
from tests.zips import with_member

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _docx() -> bytes:
    return demo_office.docx("Report", [("p", "hello")])


def test_a_zip_bomb_part_stops_at_the_member_limit() -> None:
    paragraph = b"<w:p><w:r><w:t>" + b"A" * 100 + b"</w:t></w:r></w:p>"
    body = b'<w:document xmlns:w="' + W.encode() + b'"><w:body>' + paragraph * 600_000 + b"</w:body></w:document>"
    bomb = with_member(_docx(), "word/document.xml", body)
    assert len(bomb) < 1024 * 1024  # 76 MiB of XML in well under 1 MiB
    with pytest.raises(ExtractionError, match=r"'word/document.xml' .* more than 1048576 bytes \(the limit\)"):
        extract("docx", bomb, Limits(max_member_bytes=1024 * 1024))


def test_one_huge_run_of_text_stops_at_the_text_limit_without_building_it() -> None:
    body = b'<w:document xmlns:w="' + W.encode() + b'"><w:body><w:p><w:r><w:t>'
    body += b"A" * (64 * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"
    with pytest.raises(ExtractionError, match="run of text longer than 1000000 characters"):
        extract("docx", with_member(_docx(), "word/document.xml", body))


def test_the_total_unzipped_size_is_bounded_across_parts() -> None:
    rows = [[f"{r}-{c}" + "x" * 500 for c in range(20)] for r in range(20)]
    wb = demo_office.xlsx([(f"S{n}", [[f"{n}{v}" for v in row] for row in rows]) for n in range(6)])
    with pytest.raises(ExtractionError, match="more than 100000 bytes in total"):
        extract("xlsx", wb, Limits(max_unzipped_bytes=100_000))


def test_too_many_zip_entries_are_refused_before_anything_is_read() -> None:
    crowded = with_member(_docx(), "word/document.xml", _docx_body("x"), extra=300)
    with pytest.raises(ExtractionError, match="zip entries, over the limit of 100"):
        extract("docx", crowded, Limits(max_zip_entries=100))


def _docx_body(text: str) -> bytes:
    return f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>'.encode()


LAUGHS = (
    '<?xml version="1.0" encoding="{enc}"?>\n<!DOCTYPE w:document [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
    f'<w:document xmlns:w="{W}"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>'
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be", "utf-32"])
def test_a_dtd_or_entity_is_refused_in_any_declared_encoding(encoding: str) -> None:
    text = LAUGHS.replace("{enc}", encoding.upper().replace("-BE", "BE"))
    body = text.encode(encoding if encoding != "utf-16" else "utf-16")
    hostile = with_member(_docx(), "word/document.xml", body)
    with pytest.raises(ExtractionError, match=r"DTD or entities; refused|not well-formed"):
        extract("docx", hostile)


def test_utf16_with_a_dtd_is_refused_not_parsed() -> None:
    body = LAUGHS.replace("{enc}", "UTF-16").encode("utf-16")
    with pytest.raises(ExtractionError, match="declares a DTD or entities; refused"):
        extract("docx", with_member(_docx(), "word/document.xml", body))


def test_deep_nesting_is_refused_at_the_depth_limit() -> None:
    body = (
        f'<w:document xmlns:w="{W}"><w:body>'.encode() + b"<w:p>" * 5000 + b"</w:p>" * 5000 + b"</w:body></w:document>"
    )
    with pytest.raises(ExtractionError, match="deeper than 200"):
        extract("docx", with_member(_docx(), "word/document.xml", body))


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d[: len(d) // 2],
        lambda d: d[:30] + b"\x00" * (len(d) // 2) + d[30 + len(d) // 2 :],
        lambda d: b"PK\x03\x04" + b"\xff" * 500,
    ],
)
def test_a_damaged_package_is_a_clear_error(damage: object) -> None:
    broken = damage(_docx())  # type: ignore[operator]
    with pytest.raises(ExtractionError, match="DOCX"):
        extract("docx", broken)


def test_a_part_that_is_not_xml_is_a_clear_error() -> None:
    with pytest.raises(ExtractionError, match="not well-formed XML"):
        extract("xlsx", with_member(demo_office.xlsx([("S", [["a"]])]), "xl/worksheets/sheet1.xml", b"<a><b></a>"))


def test_detection_ignores_names_and_reads_the_zip() -> None:
    assert detect(_docx()) == "docx"
    assert detect(demo_office.xlsx([("S", [["a"]])])) == "xlsx"
    assert detect(demo_office.pptx([("T", ["x"], "")])) == "pptx"
    assert detect(
        with_member(_docx(), "word/document.xml", b"", extra=0).replace(b"word/document.xml", b"word/other.xmlx")
    ) in (
        "zip",
        "docx",
    )
