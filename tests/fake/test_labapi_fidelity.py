"""Fidelity: labapi 1.2.0, an independent live-tested client (spec §10), reads the fake unchanged.

labapi is synchronous, so the fake runs in a thread through ``running_in_thread``. Where labapi and
the spec disagree, the fake follows the spec and the test says so:

* Zero-hit ``entry_search``: the spec says HTTP 404 [DOC] (SB-digest, GOV-ref); labapi's
  ``EntrySearch`` expects a 200 with ``total-returned`` 0 and so raises ``ApiError`` on a miss. We keep
  the 404 (with code 4512, our documented choice) and pin labapi's resulting behaviour below.
* labapi signs with ``expires`` = now + 60 s; the spec only bounds the past (two minutes) and the fake's
  future bound is the configurable 5 minutes [INF], so labapi passes, as it does live.
"""

from __future__ import annotations

import pytest
from labapi import ApiError, AttachmentEntry, Client, HeaderEntry, PlainTextEntry, TextEntry

from labmcp.fake import FakeConfig, FakeLabArchives
from labmcp.fake.demo import DEFAULT_NOTEBOOK

pytestmark = pytest.mark.slow

SCREEN = "Projects/CRISPR knock-out of TP53/Cloning/PCR colony screen"


@pytest.fixture(scope="module")
def session() -> object:
    # Shuffled child order: labapi must find everything by tag name, as it does live (§3).
    fake = FakeLabArchives.demo(FakeConfig(shuffle_seed=11))
    creds = fake.credentials
    # labapi appends /api/<class>/<method> itself, so it gets the server root (§10: base_url without /api).
    with (
        fake.running_in_thread() as base_url,
        Client(base_url.removesuffix("/api"), creds.akid, creds.password) as client,
    ):
        user = client.login(creds.email, creds.token.reveal())
        yield fake, user


def test_login_gives_the_uid_and_the_three_visible_notebooks(session: object) -> None:
    fake, user = session  # type: ignore[misc]
    assert user.id == fake.credentials.uid
    assert set(user.notebooks) == {
        DEFAULT_NOTEBOOK,
        "Journal Club & <Reading> Notes",
        "Core Facility — Shared Instruments",
    }
    assert user.get_max_upload_size() == 52_428_800


def test_tree_walk_finds_nested_and_unicode_nodes(session: object) -> None:
    _, user = session  # type: ignore[misc]
    paths = user.notebooks[DEFAULT_NOTEBOOK].enumerate_all(depth=5)
    assert SCREEN in paths
    assert "Projects/細胞培養/HEK293T passage log" in paths
    assert "Projects/Protéines — Western blots/Blot 2026-01-14" in paths
    core = user.notebooks["Core Facility — Shared Instruments"].enumerate_all(depth=3)
    assert "Booking rules" in core and "Billing — restricted" not in core  # unreadable nodes are omitted


def test_entries_of_a_page_have_the_right_types_and_content(session: object) -> None:
    _, user = session  # type: ignore[misc]
    page = user.notebooks[DEFAULT_NOTEBOOK].traverse(SCREEN).as_page()
    entries = list(page.entries)
    assert isinstance(entries[0], TextEntry) and "412&nbsp;bp" in entries[0].content
    assert [type(e) for e in entries[1:]] == [AttachmentEntry] * 6  # gel, CSV, TSV, XLSX, legacy XLS, JSON
    log = user.notebooks[DEFAULT_NOTEBOOK].traverse("Projects/細胞培養/HEK293T passage log").as_page()
    kinds = [type(e) for e in log.entries]
    assert len(kinds) == 120 and kinds[0] is HeaderEntry and kinds[1] is PlainTextEntry


def test_attachment_download_matches_the_stored_bytes(session: object) -> None:
    fake, user = session  # type: ignore[misc]
    page = user.notebooks[DEFAULT_NOTEBOOK].traverse(SCREEN).as_page()
    csv = next(e for e in page.entries if isinstance(e, AttachmentEntry) and "Plate reader" in e.content.caption)
    attachment = csv.get_attachment()
    stored = next(e for e in fake.store.entries.values() if e.eid == csv.id)
    assert attachment.read() == stored.data
    assert attachment.filename == "plate_reader_A450.csv" and attachment.mime_type == "text/csv"


def test_non_ascii_file_name_from_the_listing_and_the_header_fallback(session: object) -> None:
    """labapi names a download from attach-file-name; only without it does it read Content-Disposition.

    Python's ``email`` parser (used by labapi) returns the first ``filename`` parameter, i.e. the ASCII
    fallback, though RFC 6266 says to prefer ``filename*``. We keep the RFC 6266 order (fallback first)
    since the real format is unknown (§12.5), and pin what labapi then sees.
    """
    _, user = session  # type: ignore[misc]
    page = user.notebooks[DEFAULT_NOTEBOOK].traverse("Projects/Protéines — Western blots/Blot 2026-01-14").as_page()
    png = next(e for e in page.entries if isinstance(e, AttachmentEntry))
    attachment = png.get_attachment()
    assert attachment.filename == "ponceau_é.png"
    assert attachment.read().startswith(b"\x89PNG\r\n\x1a\n")
    png._filename = None  # force labapi to read the name from the header
    png._filedata = None
    assert png.get_attachment().filename == "ponceau_e.png"


def test_search_hits_and_the_documented_404_on_a_miss(session: object) -> None:
    _, user = session  # type: ignore[misc]
    notebook = user.notebooks[DEFAULT_NOTEBOOK]
    pages = list(notebook.search("PCR", page_size=1))
    assert len(pages) >= 2 and all(p.total_returned == 1 for p in pages)
    with pytest.raises(ApiError) as miss:
        list(notebook.search("no such words anywhere"))
    assert miss.value.error_code == 4512
