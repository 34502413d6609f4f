"""The fake over real loopback HTTP: h11 framing, keep-alive, bad requests, faults, the request log."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator

import httpx
import pytest
import trio

from labmcp.fake import FakeLabArchives
from labmcp.fake.demo import CANARY
from labmcp.labarchives.signing import signature


@pytest.fixture
async def fake(nursery: trio.Nursery) -> AsyncIterator[FakeLabArchives]:
    fake = FakeLabArchives.demo()
    await nursery.start(fake.serve)
    yield fake


def _signed(fake: FakeLabArchives, method: str, **params: str) -> dict[str, str]:
    creds = fake.credentials
    expires = str(time.time_ns() // 1_000_000)
    sig = signature(creds.akid, method, expires, creds.secret.reveal())
    return {**params, "akid": creds.akid, "expires": expires, "sig": sig}


async def _get(fake: FakeLabArchives, api: str, timeout: float = 5.0, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=timeout) as client:
        return await client.get(f"{fake.base_url}/{api}", params=_signed(fake, api.split("/")[1], **params))


async def test_base_url_ends_with_api_and_epoch_time_answers(fake: FakeLabArchives) -> None:
    assert fake.base_url.startswith("http://127.0.0.1:") and fake.base_url.endswith("/api")
    with trio.fail_after(5):
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{fake.base_url}/utilities/epoch_time", params={"akid": "demo-akid"})
    assert response.status_code == 200
    assert ET.fromstring(response.content)[0].tag == "epoch-time"


async def test_keep_alive_serves_many_requests_on_one_connection(fake: FakeLabArchives) -> None:
    with trio.fail_after(5):
        async with httpx.AsyncClient() as client:
            for _ in range(5):
                response = await client.get(f"{fake.base_url}/utilities/epoch_time", params={"akid": "demo-akid"})
                assert response.status_code == 200
    assert len(fake.log) == 5


async def test_login_and_attachment_download(fake: FakeLabArchives) -> None:
    creds = fake.credentials
    with trio.fail_after(10):
        login = await _get(fake, "users/user_access_info", login_or_email=creds.email, password=creds.token.reveal())
        assert ET.fromstring(login.content).findtext("id") == creds.uid
        eid = next(e.eid for e in fake.store.entries.values() if e.attach_file_name == "plate_reader_A450.csv")
        csv = await _get(fake, "entries/entry_attachment", uid=creds.uid, eid=eid)
    assert csv.content == fake.store.entries[eid].data
    assert csv.headers["content-disposition"] == 'attachment; filename="plate_reader_A450.csv"'


async def test_post_form_and_chunked_bodies_are_read(fake: FakeLabArchives) -> None:
    creds = fake.credentials
    params = _signed(fake, "user_info_via_id")
    form = {"uid": creds.uid}

    async def chunks() -> AsyncIterator[bytes]:
        encoded = str(httpx.QueryParams(form)).encode()
        yield encoded[:5]
        yield encoded[5:]

    with trio.fail_after(5):
        async with httpx.AsyncClient() as client:
            url = f"{fake.base_url}/users/user_info_via_id"
            posted = await client.post(url, params=params, data=form)
            chunked = await client.post(
                url, params=params, content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
    assert ET.fromstring(posted.content).findtext("id") == creds.uid
    assert ET.fromstring(chunked.content).findtext("id") == creds.uid


async def test_garbage_request_gets_400_and_server_survives(fake: FakeLabArchives) -> None:
    host, port = fake.base_url.removeprefix("http://").removesuffix("/api").split(":")
    with trio.fail_after(5):
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"\x00\x01 NOT HTTP AT ALL\r\n\r\n")
        answer = await stream.receive_some(1024)
        await stream.aclose()
        stream = await trio.open_tcp_stream(host, int(port))
        await stream.send_all(b"GET /api/utilities/epoch_time?akid=demo-akid HTTP/1.1\r\nHost: x\r\nContent-Le")
        await stream.aclose()  # half a request, then gone
        response = await _get(fake, "utilities/epoch_time")
    assert answer.startswith(b"HTTP/1.1 400")
    assert response.status_code == 200


async def test_request_log_redacts_secrets(fake: FakeLabArchives) -> None:
    creds = fake.credentials
    with trio.fail_after(5):
        await _get(fake, "users/user_access_info", login_or_email=creds.email, password=creds.token.reveal())
        await _get(fake, "users/user_info_via_id", uid="nobody")
    first, second = fake.log
    assert (first.api_class, first.api_method, first.status) == ("users", "user_access_info", 200)
    assert first.params["akid"] == creds.akid and "sig" not in first.params and "password" not in first.params
    assert first.trio_time is not None and first.monotonic > 0
    assert (second.status, second.error_code) == (404, 4507)


@pytest.mark.parametrize(
    ("kind", "params", "status", "check"),
    [
        ("http_status", {"status": 502}, 502, lambda r: b"<error-code>4999</error-code>" in r.content),
        ("http_status", {"status": 503, "plain": True}, 503, lambda r: r.headers["content-type"] == "text/plain"),
        ("la_error", {"code": 4533}, 401, lambda r: b"<error-code>4533</error-code>" in r.content),
        ("garbage", {}, 200, lambda r: r.content.startswith(b"\x00\xff")),
        ("truncated_xml", {}, 200, lambda r: not r.content.rstrip().endswith(b"</utilities>")),
        ("xml_bomb", {}, 200, lambda r: b"<!ENTITY lol9" in r.content),
        ("external_entity", {}, 200, lambda r: b'SYSTEM "file:///etc/passwd"' in r.content),
        ("wrong_content_type", {}, 200, lambda r: r.headers["content-type"].startswith("text/html")),
        ("huge_body", {"size": 3_000_000}, 200, lambda r: len(r.content) == 3_000_000),
        ("latency", {"seconds": 0.01}, 200, lambda r: r.content.startswith(b"<?xml")),
    ],
)
async def test_body_faults_are_observable(fake: FakeLabArchives, kind: str, params: dict, status: int, check) -> None:  # type: ignore[no-untyped-def,type-arg]
    fake.faults.add(kind, method="epoch_time", **params)  # type: ignore[arg-type]
    with trio.fail_after(10):
        faulty = await _get(fake, "utilities/epoch_time")
        normal = await _get(fake, "utilities/epoch_time")
    assert faulty.status_code == status and check(faulty)
    assert normal.status_code == 200 and ET.fromstring(normal.content)[0].tag == "epoch-time"
    assert fake.log[0].fault == kind and fake.log[1].fault is None


async def test_fault_targets_only_its_method_and_counts_times(fake: FakeLabArchives) -> None:
    fake.faults.add("http_status", method="max_file_size", times=2, status=500)
    with trio.fail_after(5):
        assert (await _get(fake, "utilities/epoch_time")).status_code == 200
        codes = [(await _get(fake, "users/max_file_size", uid=fake.credentials.uid)).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    fake.faults.add("http_status", times=None, status=503)
    with trio.fail_after(5):
        assert (await _get(fake, "utilities/epoch_time")).status_code == 503
    fake.faults.clear()
    with trio.fail_after(5):
        assert (await _get(fake, "utilities/epoch_time")).status_code == 200


async def test_reset_is_a_connection_error(fake: FakeLabArchives) -> None:
    fake.faults.add("reset")
    with trio.fail_after(5), pytest.raises(httpx.TransportError):
        await _get(fake, "utilities/epoch_time")


@pytest.mark.parametrize("kind", ["hang_before_response", "hang_mid_body"])
async def test_hangs_time_out_the_client(fake: FakeLabArchives, kind: str) -> None:
    fake.faults.add(kind)  # type: ignore[arg-type]
    with trio.fail_after(5), pytest.raises(httpx.ReadTimeout):
        await _get(fake, "utilities/epoch_time", timeout=0.3)


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FakeLabArchives.demo().faults.add("nope")  # type: ignore[arg-type]


async def test_canary_is_served_only_from_its_documented_places(fake: FakeLabArchives) -> None:
    """The demo's canary sits in 'Archive (old)/Retired samples' and the Core Facility notebook only."""
    holders = [e for e in fake.store.entries.values() if CANARY in e.entry_data]
    places = {(fake.store.notebooks[e.nbid].name, *fake.store.path_names(fake.store.nodes[e.page_id])) for e in holders}  # type: ignore[index]
    assert places == {
        ("Molecular Biology Lab — 2026", "Archive (old)", "Retired samples"),
        ("Core Facility — Shared Instruments", "Booking rules"),
    }


def test_running_in_thread_serves_a_sync_client() -> None:
    fake = FakeLabArchives.demo()
    with fake.running_in_thread() as base_url:
        response = httpx.get(f"{base_url}/utilities/epoch_time", params={"akid": "demo-akid"}, timeout=5)
        assert response.status_code == 200
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/utilities/epoch_time", params={"akid": "demo-akid"}, timeout=2)
