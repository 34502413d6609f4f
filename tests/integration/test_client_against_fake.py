"""The real client against the fake over real loopback HTTP: identity, clock, reads, faults, pacing."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import trio

from labmcp.config import LabArchivesSettings
from labmcp.errors import (
    AuthenticationError,
    InvalidRequestError,
    ResourceMissingError,
    UpstreamError,
    UpstreamTimeoutError,
)
from labmcp.fake import FakeLabArchives
from labmcp.labarchives.client import LabArchivesClient, open_client
from labmcp.labarchives.models import PART_ATTACHMENT, ROOT_TREE_ID, Entry
from labmcp.observe import NullObserver
from labmcp.secret import Secret
from tests.conftest import client_settings


class Recorder(NullObserver):
    """Keeps what the client reports, to check the metrics seam."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.retries: list[tuple[str, str]] = []

    def upstream_call(self, method: str, outcome: str, seconds: float) -> None:
        self.calls.append((method, outcome))

    def retry(self, method: str, reason: str) -> None:
        self.retries.append((method, reason))


def methods(fake: FakeLabArchives) -> list[str]:
    return [r.api_method for r in fake.log]


async def find_attachment(client: LabArchivesClient, wanted: Callable[[Entry], bool]) -> Entry:
    """The first attachment entry ``wanted`` accepts, walking every notebook's tree depth first."""
    for nb in await client.notebooks():
        stack = [ROOT_TREE_ID]
        while stack:
            for node in await client.get_tree_level(nb.id, stack.pop()):
                if not node.is_page:
                    stack.append(node.tree_id)
                    continue
                for entry in (await client.get_entries_for_page(nb.id, node.tree_id)).entries:
                    if entry.part_type == PART_ATTACHMENT and wanted(entry):
                        return entry
    raise AssertionError("the demo lab has no such attachment")


async def test_start_syncs_clock_then_resolves_uid_from_email_and_token(fake: FakeLabArchives) -> None:
    """§2.4, §2.5 B: epoch_time (akid only) first, then user_access_info."""
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        assert client.uid == fake.credentials.uid
        assert client.clock_synced
    assert methods(fake) == ["epoch_time", "user_access_info"]
    epoch = fake.log[0]
    assert set(epoch.params) == {"akid"}
    assert "password" not in fake.log[1].params


@pytest.mark.parametrize("offset_ms", [600_000, -600_000])
async def test_clock_offset_of_ten_minutes_is_corrected(fake: FakeLabArchives, offset_ms: int) -> None:
    """§2.4 [DOC]: expires must be within two minutes of server time; sync fixes a skewed host."""
    fake.config.clock_offset_ms = offset_ms
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        assert abs(client.clock_offset_ms - offset_ms) < 5_000
        notebooks = await client.notebooks()
        assert notebooks


async def test_expired_4504_resyncs_once_and_retries_once(fake: FakeLabArchives) -> None:
    """§2.4: on 4504 the client re-syncs the clock once and retries once."""
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        nb = (await client.notebooks())[0]
        fake.config.clock_offset_ms = 900_000  # the server's clock jumps after the sync
        await client.get_tree_level(nb.id)
    assert methods(fake)[-3:] == ["get_tree_level", "epoch_time", "get_tree_level"]
    assert [r.error_code for r in fake.log].count(4504) == 1


async def test_wrong_access_password_is_an_authentication_error_without_secrets(fake: FakeLabArchives) -> None:
    """§2.2, §5: a bad signature answers 4520; the message names it but carries no secret."""
    settings = client_settings(fake, secret=Secret("wrong-password-123"))
    async with open_client(settings, NullObserver()) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.start()
    message = str(info.value)
    assert "4520" in message
    assert "wrong-password-123" not in message
    assert fake.credentials.token.reveal() not in message
    assert "sig=" not in message


async def test_wrong_token_is_4514(fake: FakeLabArchives) -> None:
    settings = client_settings(fake, token=Secret("not-the-token"))
    async with open_client(settings, NullObserver()) as client:
        with pytest.raises(AuthenticationError, match="4514"):
            await client.start()


async def test_tree_walk_entries_and_attachment_bytes(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        attachment = await find_attachment(client, lambda e: e.attach_file_name.endswith(".csv"))
        download = await client.entry_attachment(attachment.eid, 10_000_000)
        assert not download.truncated
        assert download.filename == attachment.attach_file_name
        assert len(download.data) == attachment.attach_file_size
        capped = await client.entry_attachment(attachment.eid, 10)
        assert capped.truncated and len(capped.data) == 10


async def test_repeated_tree_levels_come_from_the_cache(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        nb = (await client.notebooks())[0]
        before = len(fake.log)
        await client.get_tree_level(nb.id)
        await client.get_tree_level(nb.id)
        await client.notebooks()
        assert methods(fake)[before:] == ["get_tree_level"]


async def test_search_without_hits_is_empty_not_an_error(fake: FakeLabArchives) -> None:
    """§6.5 [DOC]: no match answers HTTP 404."""
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        results = await client.entry_search("zzqx-no-such-word-anywhere")
        assert results.entries == ()
    assert fake.log[-1].status == 404


async def test_unknown_entry_is_resource_missing(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        with pytest.raises(ResourceMissingError, match="4512"):
            await client.entry_attachment("bm8tc3VjaC1lbnRyeQ==", 1000)


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retried_with_backoff_then_succeeds(fake: FakeLabArchives, status: int) -> None:
    recorder = Recorder()
    async with open_client(client_settings(fake, cache_ttl=0), recorder) as client:
        await client.start()
        fake.faults.add("http_status", method="user_info_via_id", times=2, status=status)
        assert await client.notebooks()
    assert methods(fake).count("user_info_via_id") == 3
    assert recorder.retries == [("user_info_via_id", f"http_{status}")] * 2


async def test_persistent_5xx_gives_up_after_three_attempts(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake, cache_ttl=0), NullObserver()) as client:
        await client.start()
        fake.faults.add("http_status", method="user_info_via_id", times=None, status=503)
        with pytest.raises(UpstreamError, match="user_info_via_id"):
            await client.notebooks()
    assert methods(fake).count("user_info_via_id") == 3


async def test_4xx_is_never_retried(fake: FakeLabArchives) -> None:
    """§5.4 [DOC]: never auto-retry a 4xx."""
    async with open_client(client_settings(fake, cache_ttl=0), NullObserver()) as client:
        await client.start()
        fake.faults.add("la_error", method="user_info_via_id", times=None, code=4529, status=400)
        with pytest.raises(InvalidRequestError, match="4529"):
            await client.notebooks()
    assert methods(fake).count("user_info_via_id") == 1


@pytest.mark.parametrize(
    ("kind", "match"),
    [
        ("garbage", "malformed XML|content type"),
        ("truncated_xml", "malformed XML"),
        ("xml_bomb", "DTD"),
        ("external_entity", "DTD"),
        ("wrong_content_type", "content type"),
    ],
)
async def test_bad_bodies_are_clear_upstream_errors_and_not_retried(
    fake: FakeLabArchives, kind: str, match: str
) -> None:
    async with open_client(client_settings(fake, cache_ttl=0), NullObserver()) as client:
        await client.start()
        fake.faults.add(kind, method="user_info_via_id", times=1)  # type: ignore[arg-type]
        with pytest.raises(UpstreamError, match=match):
            await client.notebooks()
        assert await client.notebooks()  # the next call is normal


async def test_huge_body_is_refused_at_the_cap(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake, cache_ttl=0, max_response_bytes=4096), NullObserver()) as client:
        await client.start()
        fake.faults.add("huge_body", method="user_info_via_id", times=1, size=100_000)
        with pytest.raises(UpstreamError, match="more than 4096 bytes"):
            await client.notebooks()


@pytest.mark.parametrize("kind", ["hang_before_response", "hang_mid_body"])
async def test_hangs_time_out_and_are_retried(fake: FakeLabArchives, kind: str) -> None:
    settings = client_settings(fake, cache_ttl=0, read_timeout=0.3, connect_timeout=0.3)
    async with open_client(settings, NullObserver()) as client:
        await client.start()
        fake.faults.add(kind, method="user_info_via_id", times=1)  # type: ignore[arg-type]
        with trio.fail_after(10):
            assert await client.notebooks()
    assert methods(fake).count("user_info_via_id") >= 1


async def test_connection_reset_is_retried(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake, cache_ttl=0), NullObserver()) as client:
        await client.start()
        fake.faults.add("reset", method="user_info_via_id", times=1)
        assert await client.notebooks()


async def test_persistent_hang_is_a_timeout_error(fake: FakeLabArchives) -> None:
    settings = client_settings(fake, cache_ttl=0, read_timeout=0.2, connect_timeout=0.2, max_attempts=2)
    async with open_client(settings, NullObserver()) as client:
        await client.start()
        fake.faults.add("hang_before_response", method="user_info_via_id", times=None)
        with trio.fail_after(10), pytest.raises(UpstreamTimeoutError, match="timed out"):
            await client.notebooks()


async def test_unreachable_host_is_a_clear_error() -> None:
    listener = trio.socket.socket()
    await listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    settings = LabArchivesSettings(
        api_base=f"http://127.0.0.1:{port}/api",
        akid="a",
        secret=Secret("s"),
        uid="u",
        request_interval=0,
        retry_backoff=0.01,
    )
    async with open_client(settings, NullObserver()) as client:
        with pytest.raises(UpstreamError, match="cannot reach LabArchives"):
            await client.sync_clock()


async def test_revoked_uid_is_an_authentication_error(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        fake.store.revoke_uid(client.uid)
        with pytest.raises(AuthenticationError, match="4507"):
            await client.get_tree_level((await client.notebooks())[0].id)


async def test_pacing_spaces_calls_as_seen_by_the_fake(fake: FakeLabArchives) -> None:
    """§5.4: calls serialised and spaced; measured from the fake's request log, not a stopwatch."""
    interval = 0.2
    async with open_client(client_settings(fake, request_interval=interval, cache_ttl=0), NullObserver()) as client:
        await client.start()
        nb = (await client.notebooks())[0]
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(client.get_tree_level, nb.id, ROOT_TREE_ID)
    times = [r.monotonic for r in fake.log]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= interval * 0.95


async def test_small_attachments_are_cached_and_capped_downloads_keyed_by_cap(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        eid = (await find_attachment(client, lambda e: (e.attach_file_size or 0) < 100_000)).eid
        assert eid
        before = methods(fake).count("entry_attachment")
        first = await client.entry_attachment(eid, 1_000_000)
        again = await client.entry_attachment(eid, 1_000_000)
        assert again == first
        assert methods(fake).count("entry_attachment") == before + 1
        await client.entry_attachment(eid, 10)
        assert methods(fake).count("entry_attachment") == before + 2


async def test_node_entry_notebook_thumb_and_attachment_search_methods(fake: FakeLabArchives) -> None:
    """§6.2-§6.5: the remaining read methods decode what the fake serves."""
    async with open_client(client_settings(fake), NullObserver()) as client:
        await client.start()
        nb = (await client.notebooks())[0]
        info = await client.notebook_info(nb.id)
        assert info.id == nb.id and info.name == nb.name
        assert (await client.max_file_size() or 0) > 0
        folder = next(n for n in await client.get_tree_level(nb.id) if not n.is_page)
        details = await client.get_node(nb.id, folder.tree_id)
        assert details.node.tree_id == folder.tree_id and details.node.display_text == folder.display_text
        assert details.parent_tree_id == "0"
        images = await client.attachment_search(extension="png", nbid=nb.id)
        assert images.entries and all(e.attach_file_name.endswith(".png") for e in images.entries)
        png = images.entries[0]
        entry = await client.entry_info(png.eid)
        assert entry.eid == png.eid and entry.part_type == PART_ATTACHMENT
        thumb = await client.entry_thumb(png.eid, 1_000_000)
        assert thumb.content_type.startswith("image/") and thumb.data.startswith(b"\x89PNG")
        hits = await client.entry_search("PCR", nbid=nb.id, page_size=2, page_number=0)
        assert 0 < len(hits.entries) <= 2 and hits.total_found >= len(hits.entries)


async def test_latency_is_waited_out_within_the_read_timeout(fake: FakeLabArchives) -> None:
    async with open_client(client_settings(fake, cache_ttl=0), NullObserver()) as client:
        await client.start()
        fake.faults.add("latency", method="user_info_via_id", times=1, seconds=0.3)
        with trio.fail_after(10):
            assert await client.notebooks()
    assert methods(fake).count("user_info_via_id") == 1
