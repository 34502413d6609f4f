"""A small hand-built store and signed-request helpers for the fake's pure tests."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

from labmcp.fake.exchange import FakeConfig, FakeRequest, FakeResponse, parse_request
from labmcp.fake.handler import FakeHandler
from labmcp.fake.store import NO_ACCESS, Store
from labmcp.labarchives.models import PART_HEADING, PART_TEXT
from labmcp.labarchives.signing import encode_once, signature

NOW = 1_767_225_600_000
AKID = "test-akid"
PASSWORD = "test-password"
UID = "285489257Ho's9^Lt4116011183268315271"
OTHER_UID = "233106187ler2,bix5417615158751911759198414"
EMAIL = "jane@example.org"
TOKEN = "tok+en/with=punct"


@dataclass
class World:
    """A store with two users, three notebooks and a few nodes; ids kept for the tests."""

    store: Store
    handler: FakeHandler
    nb_a: str
    nb_b: str
    nb_hidden: str
    folder: str
    page: str
    empty_page: str
    secret_page: str
    text_eid: str
    heading_eid: str
    csv_eid: str
    png_eid: str


def world(config: FakeConfig | None = None) -> World:
    store = Store()
    store.add_akid(AKID, PASSWORD)
    store.add_user(UID, EMAIL, AKID, "Jane Doe")
    store.add_user(OTHER_UID, "other@example.org", AKID, "Otto Other")
    store.add_token(UID, TOKEN, NOW)
    a = store.add_notebook("Lab A", [UID, OTHER_UID], default_for=(UID,))
    b = store.add_notebook("Lab B & <Co>", [UID])
    hidden = store.add_notebook("Otto's", [OTHER_UID])
    folder = store.add_folder(a.nbid, "Experiments")
    page = store.add_page(a.nbid, "Day 1", folder.tree_id)
    empty = store.add_page(a.nbid, "Empty")
    secret = store.add_page(a.nbid, "Secret")
    store.set_node_access(secret.tree_id, UID, NO_ACCESS)
    at = NOW // 1000 - 86400
    text = store.add_entry(page.tree_id, PART_TEXT, "<p>PCR &amp; gel <b>ok</b></p>", owner=UID, at=at)
    heading = store.add_entry(page.tree_id, PART_HEADING, "Results", owner=UID, at=at)
    csv = store.add_attachment(page.tree_id, "plate.csv", b"a,b\n1,2\n", "text/csv", owner=UID, at=at, caption="Plate")
    png = store.add_attachment(
        page.tree_id, "gel é.png", b"\x89PNG fake", "image/png", owner=UID, at=at, thumbnail=b"\x89PNG thumb"
    )
    store.add_entry(secret.tree_id, PART_TEXT, "<p>hidden secret</p>", owner=OTHER_UID, at=at)
    store.add_comment(text.eid, "Looks fine", by=OTHER_UID, at=at)
    handler = FakeHandler(store, config or FakeConfig())
    return World(
        store, handler, a.nbid, b.nbid, hidden.nbid, folder.tree_id, page.tree_id, empty.tree_id, secret.tree_id,
        text.eid, heading.eid, csv.eid, png.eid,
    )  # fmt: skip


def signed(
    api: str, now: int = NOW, *, akid: str = AKID, akpass: str = PASSWORD, hash_name: str = "sha512", **params: str
) -> FakeRequest:
    """A request for ``class/method`` signed like a correct client, built through the raw-URL parser."""
    method = api.split("/")[1]
    sig = signature(akid, method, now, akpass, hash_name=hash_name)  # type: ignore[arg-type]
    query = "&".join(f"{k}={encode_once(v)}" for k, v in {**params, "akid": akid, "expires": str(now)}.items())
    return parse_request("GET", f"/api/{api}?{query}&sig={encode_once(sig)}", {}, b"")


def call(w: World, api: str, **params: str) -> FakeResponse:
    return w.handler.handle(signed(api, NOW, **params), NOW)


def xml(response: FakeResponse) -> ET.Element:
    return ET.fromstring(response.body)


def error_code(response: FakeResponse) -> int:
    code = xml(response).findtext("error-code")
    assert code is not None, response.body
    return int(code)
