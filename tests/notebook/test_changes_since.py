"""``since`` of recent_changes: ISO-8601 or relative, always UTC, never in the future."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from labmcp.errors import InvalidArgumentError
from labmcp.fake import FakeLabArchives
from labmcp.notebook.changes import parse_since
from labmcp.notebook.uris import ChangesURI, changes_uri, parse_uri
from tests.notebook.attachment_support import demo_service

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", NOW - timedelta(days=7)),
        ("12h", NOW - timedelta(hours=12)),
        ("30m", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("2026-11-23", datetime(2026, 11, 23, tzinfo=UTC)),
        ("2026-11-23T09:00:00Z", datetime(2026, 11, 23, 9, tzinfo=UTC)),
        ("2026-11-23T10:00:00+01:00", datetime(2026, 11, 23, 9, tzinfo=UTC)),
    ],
)
def test_since_forms(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW) == expected


@pytest.mark.parametrize(
    "text",
    ["yesterday", "7 days ago", "", "2027-01-01", "-3d", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"],
)
def test_bad_since_is_a_specific_error(text: str) -> None:
    with pytest.raises(InvalidArgumentError, match="since"):
        parse_since(text, NOW)


def test_changes_uri_round_trips_ids_with_reserved_characters() -> None:
    nbid = "MTA+P34/MDIuNHw=="
    assert parse_uri(changes_uri("7d", nbid)) == ChangesURI("7d", nbid)
    assert parse_uri("labarchives://changes") == ChangesURI()
    with pytest.raises(InvalidArgumentError):
        parse_uri("labarchives://changes?since=1d&since=2d")
    with pytest.raises(InvalidArgumentError):
        parse_uri("labarchives://changes?cursor=x")


async def test_an_empty_answer_suggests_only_a_longer_window(fake: FakeLabArchives) -> None:
    """After nothing changed in 30 days, 'try e.g. 30d' would send the reader round in a circle."""
    async with demo_service(fake) as service:
        for asked in (7, 30, 200, 3650):
            answer = await service.recent_changes(f"{asked}d")
            if answer.structured["pages"]:
                continue
            suggested = re.findall(r"e\.g\. (\d+)d", answer.markdown)
            assert all(int(days) > asked for days in suggested), (asked, answer.markdown)
