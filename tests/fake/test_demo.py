"""The demo lab holds every shape the spec asks a faithful fake to serve (§9.10), deterministically."""

from __future__ import annotations

import base64
import struct
import zlib

from labmcp.fake import demo
from labmcp.fake.demo_files import minimal_pdf, png
from labmcp.labarchives.models import PART_WIDGET


def test_build_is_deterministic() -> None:
    first, second = demo.build(0), demo.build(0)
    assert list(first.entries) == list(second.entries)
    assert [e.entry_data for e in first.entries.values()] == [e.entry_data for e in second.entries.values()]


def test_ids_look_real_and_some_carry_plus_slash_and_padding() -> None:
    """§3 [LIVE][INF]: Base64 of internal strings; clients must percent-encode + / =."""
    store = demo.build(0)
    ids = [*store.notebooks, *store.nodes, *store.entries]
    assert all(base64.b64decode(i).decode().count("|") == 2 for i in ids)
    assert any("+" in i and "/" in i for i in ids)
    assert any(i.endswith("=") for i in ids)
    assert "'" in demo.UID and "^" in demo.UID


def test_per_user_visibility() -> None:
    store = demo.build(0)
    assert len(store.visible_notebooks(demo.UID)) == 3
    assert [nb.name for nb in store.visible_notebooks(demo.COLLEAGUE_UID)] == ["Core Facility — Shared Instruments"]


def test_rich_and_extreme_content_is_present() -> None:
    store = demo.build(0)
    data = [e.entry_data for e in store.entries.values()]
    assert any("data:image/png;base64," in d and "<table" in d and "&eacute;" in d and "&nbsp;" in d for d in data)
    assert max(len(d) for d in data) > 190_000
    assert any(e.part_type == PART_WIDGET and '"form_data"' in e.entry_data for e in store.entries.values())
    counts = {n.display_text: len(store.page_entries(n.tree_id)) for n in store.nodes.values() if n.is_page}
    assert counts["HEK293T passage log"] == 120 and counts["Empty page"] == 0
    names = {n.display_text for n in store.nodes.values()}
    assert {"細胞培養", "Protéines — Western blots", "gRNA design & <validation>"} <= names
    files = {e.attach_file_name for e in store.entries.values() if e.is_attachment}
    assert {"plate_reader_A450.csv", "qpcr_ct_values.tsv", "sample_manifest.json", "p53_densitometry.pdf"} <= files
    assert any(e.page_id is None for e in store.entries.values()), "an Inbox file"


def test_generated_png_decodes() -> None:
    image = png(3, 2, lambda x, y: (x, y, 7))
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", image[16:24])
    idat_len = struct.unpack(">I", image[33:37])[0]
    rows = zlib.decompress(image[41 : 41 + idat_len])
    assert (width, height) == (
        3,
        2,
    ) and rows == b"\x00\x00\x00\x07\x01\x00\x07\x02\x00\x07\x00\x00\x01\x07\x01\x01\x07\x02\x01\x07"


def test_generated_pdf_has_a_consistent_xref() -> None:
    pdf = minimal_pdf("Title (x)", ["line"])
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[start:].startswith(b"xref\n0 6\n")
    offsets = [int(line[:10]) for line in pdf[start:].split(b"\n")[3:8]]
    assert all(pdf[o:].startswith(f"{n} 0 obj".encode()) for n, o in enumerate(offsets, start=1))
