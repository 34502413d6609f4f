"""The client's bounds over real HTTP against the fake: codings, downloads checked against the
listing before they are cached, the per-request call limit, and scrubbed echoes."""

from __future__ import annotations

import pytest

from labmcp.errors import LabArchivesError, RequestBudgetError, UpstreamError
from labmcp.fake import FakeLabArchives
from labmcp.fake.faults import bomb
from labmcp.labarchives import quota
from labmcp.labarchives.client import open_client
from labmcp.labarchives.models import PART_ATTACHMENT
from labmcp.observe import NullObserver
from tests.conftest import client_settings
from tests.integration.test_client_against_fake import find_attachment

MIB = 1024 * 1024


async def test_a_stacked_gzip_bomb_is_refused_naming_method_and_cap(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake, max_response_bytes=MIB), NullObserver()) as client:
        await client.start()
        bomb(64 * MIB, ("gzip", "gzip"))
        fake.faults.add("encoded", "max_file_size", None, encodings="gzip, gzip", inflated=64 * MIB)
        with pytest.raises(UpstreamError, match=r"max_file_size answered with more than 1048576 bytes \(gzip"):
            await client.max_file_size()
        fake.faults.clear()
        fake.faults.add("encoded", "max_file_size", None, encodings="deflate, gzip")
        assert await client.max_file_size()


async def test_a_download_that_contradicts_its_listing_is_refused_and_not_cached(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        entry = await find_attachment(client, lambda e: e.part_type == PART_ATTACHMENT and e.attach_file_size)
        fake.faults.add("truncated_xml", "entry_attachment", None)
        with pytest.raises(UpstreamError, match="listing says"):
            await client.entry_attachment(entry.eid, MIB, version=entry.version, listed_size=entry.attach_file_size)
        fake.faults.clear()
        good = await client.entry_attachment(entry.eid, MIB, version=entry.version, listed_size=entry.attach_file_size)
        assert len(good.data) == entry.attach_file_size
        before = len(fake.log)
        again = await client.entry_attachment(entry.eid, MIB, version=entry.version, listed_size=entry.attach_file_size)
        assert again is good and len(fake.log) == before, "the verified download is reused"


async def test_an_error_document_with_200_is_an_error_not_a_file(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        entry = await find_attachment(client, lambda e: e.part_type == PART_ATTACHMENT)
        body = b'<?xml version="1.0"?>\n<error><error-code>4512</error-code></error>'
        fake.faults.add("custom", "entry_attachment", None, body=body, content_type="text/csv")
        with pytest.raises(LabArchivesError, match="4512"):
            await client.entry_attachment(entry.eid, MIB)


async def test_one_request_may_cost_at_most_the_call_limit(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake, max_calls_per_request=2, cache_ttl=0), NullObserver()) as client:
        await client.start()
        with quota.request_scope() as cost:
            await client.max_file_size()
            await client.max_file_size()
            with pytest.raises(RequestBudgetError, match="more than 2 LabArchives calls"):
                await client.max_file_size()
        assert cost.calls == 2
        await client.max_file_size()  # outside a request nothing is counted


async def test_an_echoed_request_loses_every_parameter_value(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        fake.faults.add("echo_error", "max_file_size", None, status=403)
        with pytest.raises(LabArchivesError) as caught:
            await client.max_file_size()
    text = str(caught.value)
    assert "Request blocked" in text
    for value in (fake.credentials.akid, fake.credentials.uid or "", "sig=", "expires=1"):
        if value:
            assert value not in text, text


async def test_a_content_type_that_is_not_a_media_type_never_reaches_the_message(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        fake.faults.add("custom", "max_file_size", None, body=b"<x/>", content_type="see https://h/?sig=Zm9vYmFy")
        with pytest.raises(UpstreamError, match="application/x-invalid") as caught:
            await client.max_file_size()
    assert "Zm9vYmFy" not in str(caught.value)
