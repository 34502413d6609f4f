"""The words a page is searched by, where get_node names no parent; the fake's own search is the judge."""

from __future__ import annotations

from datetime import UTC, datetime

from labmcp.fake.search_methods import search_terms
from labmcp.labarchives.models import PART_PLAIN_TEXT, PART_TEXT, Entry
from labmcp.notebook.guide import search_queries


def _entry(data: str, part: str = PART_TEXT) -> Entry:
    return Entry(eid="e1", part_type=part, entry_data=data, updated_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_a_phrase_of_the_first_plain_words_then_the_most_distinctive_word() -> None:
    queries = search_queries([_entry("<p>Run 123 of assay <b>2</b>, plate B-7.</p>")])
    assert queries == ['"Run 123 of assay 2"', "123"]
    # Parsed as LabArchives' query syntax (the fake's reading of it): one phrase, then one word.
    assert search_terms(queries[0]) == ["run 123 of assay 2"]
    assert search_terms(queries[1]) == ["123"]


def test_markup_and_entities_are_read_as_text() -> None:
    (phrase, word) = search_queries([_entry("<h2>Western&nbsp;blot</h2><p>p53 &amp; GAPDH 2026-01-14</p>")])
    assert phrase == '"Western blot p53"'
    assert word == "2026"


def test_entries_without_words_are_skipped_and_none_gives_no_query() -> None:
    assert search_queries([_entry("<img src='x'>"), _entry("-- ok", PART_PLAIN_TEXT)]) == []
    assert search_queries([_entry("")]) == []
    assert search_queries([_entry("…"), _entry("Passage 12 flask", PART_PLAIN_TEXT)]) == [
        '"Passage 12 flask"',
        "Passage",
    ]
