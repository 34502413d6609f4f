"""XML shapes and semantics of every method of the fake's pure core (spec §3, §6, §7, §9.5-9.7)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from labmcp.fake.exchange import FakeConfig
from labmcp.fake.methods import content_disposition
from labmcp.fake.search_methods import search_terms
from labmcp.fake.xmlwriter import El, array, record, text, to_bytes
from tests.fake.helpers import OTHER_UID, UID, World, call, error_code, world, xml


@pytest.fixture
def w() -> World:
    return world()


def _one(root: ET.Element, path: str) -> ET.Element:
    found = root.find(path)
    assert found is not None, ET.tostring(root)
    return found


def test_user_info_shape_and_per_user_notebooks(w: World) -> None:
    """§6.1 [SAMPLE][LIVE]: <users> with typed fields and a notebooks array; visibility is per user."""
    root = xml(call(w, "users/user_info_via_id", uid=UID))
    assert root.tag == "users" and root.findtext("id") == UID
    assert root[0].tag != "id", "document order must not put the id first (§3)"
    assert _one(root, "auto-login-allowed").get("type") == "boolean"
    assert _one(root, "notebooks").get("type") == "array"
    names = {nb.findtext("name"): nb.findtext("is-default") for nb in root.iterfind("notebooks/notebook")}
    assert names == {"Lab A": "true", "Lab B & <Co>": "false"}
    other = xml(call(w, "users/user_info_via_id", uid=OTHER_UID))
    assert {nb.findtext("name") for nb in other.iterfind("notebooks/notebook")} == {"Lab A", "Otto's"}
    assert _one(root, "request").findtext("uid") == UID


def test_max_file_size_is_an_integer(w: World) -> None:
    node = _one(xml(call(w, "users/max_file_size", uid=UID)), "max-file-size")
    assert node.get("type") == "integer" and int(node.text or "") > 0


def test_notebook_info_and_its_errors(w: World) -> None:
    """§6.2: <notebooks><notebook>; unknown nbid 4509, a notebook the user cannot see 4501."""
    nb = _one(xml(call(w, "notebooks/notebook_info", uid=UID, nbid=w.nb_b)), "notebook")
    assert nb.findtext("name") == "Lab B & <Co>" and nb.findtext("signing") == "SIGNING_NONE"
    assert error_code(call(w, "notebooks/notebook_info", uid=UID, nbid="bm9wZQ==")) == 4509
    assert error_code(call(w, "notebooks/notebook_info", uid=UID, nbid=w.nb_hidden)) == 4501


def test_tree_level_lists_only_readable_nodes(w: World) -> None:
    """§6.3 [DOC]: unreadable nodes are omitted; arrays of one are still wrapped."""
    root = xml(call(w, "tree_tools/get_tree_level", uid=UID, nbid=w.nb_a, parent_tree_id="0"))
    assert root.tag == "tree-tools"
    nodes = root.findall("level-nodes/level-node")
    assert [n.findtext("display-text") for n in nodes] == ["Experiments", "Empty"]
    assert _one(nodes[0], "is-page").text == "false"
    assert _one(nodes[0], "user-access/can-read").get("type") == "boolean"
    sub = xml(call(w, "tree_tools/get_tree_level", uid=UID, nbid=w.nb_a, parent_tree_id=w.folder))
    assert _one(sub, "level-nodes").get("type") == "array"
    assert [n.findtext("tree-id") for n in sub.iterfind("level-nodes/level-node")] == [w.page]
    other = xml(call(w, "tree_tools/get_tree_level", uid=OTHER_UID, nbid=w.nb_a, parent_tree_id="0"))
    assert "Secret" in [n.findtext("display-text") for n in other.iterfind("level-nodes/level-node")]


def test_tree_level_errors(w: World) -> None:
    assert error_code(call(w, "tree_tools/get_tree_level", uid=UID, nbid="bad", parent_tree_id="0")) == 4509
    assert error_code(call(w, "tree_tools/get_tree_level", uid=UID, nbid=w.nb_a)) == 4500
    assert error_code(call(w, "tree_tools/get_tree_level", uid=UID, nbid=w.nb_a, parent_tree_id="zz")) == 4517


def test_get_node(w: World) -> None:
    node = _one(xml(call(w, "tree_tools/get_node", uid=UID, nbid=w.nb_a, tree_id=w.page)), "node")
    assert node.findtext("display-text") == "Day 1" and node.findtext("is-page") == "true"
    assert error_code(call(w, "tree_tools/get_node", uid=UID, nbid=w.nb_a, tree_id=w.secret_page)) == 4501


def test_get_node_serves_both_layouts() -> None:
    """§6.3 leaves open whether get_node names the parent: with node_parent off there is no element."""
    w = world()
    node = _one(xml(call(w, "tree_tools/get_node", uid=UID, nbid=w.nb_a, tree_id=w.page)), "node")
    assert node.findtext("parent-tree-id") == w.folder
    w.handler.config.node_parent = False
    node = _one(xml(call(w, "tree_tools/get_node", uid=UID, nbid=w.nb_a, tree_id=w.page)), "node")
    assert node.find("parent-tree-id") is None and node.findtext("display-text") == "Day 1"


def test_entries_for_page_shape(w: World) -> None:
    """§6.3, §7.1: typed entry fields, attachment fields, entry-data only when asked, page order."""
    root = xml(call(w, "tree_tools/get_entries_for_page", uid=UID, nbid=w.nb_a, page_tree_id=w.page, entry_data="True"))
    assert _one(root, "results/total-returned").text == "4"
    assert _one(root, "entries").get("type") == "array"
    entries = root.findall("entries/entry")
    assert [e.findtext("eid") for e in entries] == [w.text_eid, w.heading_eid, w.csv_eid, w.png_eid]
    text_entry, _, csv, png = entries
    assert text_entry.findtext("part-type") == "text entry"
    assert text_entry.findtext("entry-data") == "<p>PCR &amp; gel <b>ok</b></p>"
    assert _one(text_entry, "created-at").get("type") == "datetime"
    assert (_one(text_entry, "created-at").text or "").endswith("Z")
    assert _one(text_entry, "version").get("type") == "integer"
    assert csv.findtext("part-type") == "Attachment" and csv.findtext("attach-file-name") == "plate.csv"
    assert csv.findtext("entry-data") == "Plate" and _one(csv, "attach-file-size").text == "8"
    assert _one(png, "entry-data").get("nil") == "true"
    assert _one(root, "request/entry-data").text == "True"
    bare = xml(call(w, "tree_tools/get_entries_for_page", uid=UID, nbid=w.nb_a, page_tree_id=w.page))
    assert bare.find("entries/entry/entry-data") is None


def test_comments_only_with_comment_data(w: World) -> None:
    args = {"uid": UID, "nbid": w.nb_a, "page_tree_id": w.page}
    root = xml(call(w, "tree_tools/get_entries_for_page", comment_data="true", **args))
    first = root.findall("entries/entry")[0]
    assert first.findtext("number-comments") == "1"
    assert first.findtext("comments/comment/comment-data") == "Looks fine"
    assert xml(call(w, "tree_tools/get_entries_for_page", **args)).find("entries/entry/comments") is None


def test_empty_page_is_200_with_zero_entries(w: World) -> None:
    """§5.3 [LIVE] AF: the 404 rule is for searches only."""
    response = call(w, "tree_tools/get_entries_for_page", uid=UID, nbid=w.nb_a, page_tree_id=w.empty_page)
    assert response.status == 200
    assert _one(xml(response), "results/total-returned").text == "0"


def test_unreadable_page_is_4501(w: World) -> None:
    response = call(w, "tree_tools/get_entries_for_page", uid=UID, nbid=w.nb_a, page_tree_id=w.secret_page)
    assert (response.status, error_code(response)) == (403, 4501)


def test_entry_info(w: World) -> None:
    root = xml(call(w, "entries/entry_info", uid=UID, eid=w.heading_eid, entry_data="true"))
    assert root.tag == "entries" and root.findtext("entry/entry-data") == "Results"
    assert error_code(call(w, "entries/entry_info", uid=UID, eid="nope")) == 4512
    secret = next(e.eid for e in w.store.entries.values() if e.page_id == w.secret_page)
    assert error_code(call(w, "entries/entry_info", uid=UID, eid=secret)) == 4501


def test_entry_attachment_bytes_and_headers(w: World) -> None:
    """§7.3 [INF]: raw bytes, stored Content-Type, filename plus RFC 5987 filename* when non-ASCII."""
    response = call(w, "entries/entry_attachment", uid=UID, eid=w.csv_eid)
    headers = dict(response.headers)
    assert response.body == b"a,b\n1,2\n" and headers["Content-Type"] == "text/csv"
    assert headers["Content-Disposition"] == 'attachment; filename="plate.csv"'
    png = dict(call(w, "entries/entry_attachment", uid=UID, eid=w.png_eid).headers)
    assert png["Content-Disposition"] == "attachment; filename=\"gel e.png\"; filename*=UTF-8''gel%20%C3%A9.png"
    assert error_code(call(w, "entries/entry_attachment", uid=UID, eid=w.text_eid)) == 4511
    assert error_code(call(w, "entries/entry_attachment", uid=UID, eid="nope")) == 4512


def test_content_disposition_neutralises_quotes() -> None:
    assert content_disposition('a"b\\c.txt') == 'attachment; filename="a\'b_c.txt"'


def test_entry_thumb_only_for_images(w: World) -> None:
    assert call(w, "entries/entry_thumb", uid=UID, eid=w.png_eid).body == b"\x89PNG thumb"
    assert error_code(call(w, "entries/entry_thumb", uid=UID, eid=w.csv_eid)) == 4511


def test_search_terms_parse_words_and_phrases() -> None:
    assert search_terms('PCR and "Gel  ok" "" x') == ["pcr", "gel ok", "x"]


def test_entry_search_matches_text_captions_and_file_names(w: World) -> None:
    """§6.5 [DOC]: words AND-ed, case-insensitive, over entry text (tags stripped), captions, file names."""
    root = xml(call(w, "search_tools/entry_search", uid=UID, query="pcr GEL", page_size="10", page_number="0"))
    assert root.tag == "search-tools"
    assert _one(root, "results/total-found").text == "1"
    hit = _one(root, "entries/entry")
    assert hit.findtext("eid") == w.text_eid
    assert hit.findtext("nbid") == w.nb_a and hit.findtext("notebook") == "Lab A"
    assert hit.findtext("tree-path") == "Experiments/Day 1"
    assert hit.findtext("entry-url")
    assert xml(call(w, "search_tools/entry_search", uid=UID, query="plate.csv")).findtext("entries/entry/eid") == (
        w.csv_eid
    )
    assert xml(call(w, "search_tools/entry_search", uid=UID, query='"gel ok"')).findtext("entries/entry/eid") == (
        w.text_eid
    )


def test_entry_search_does_not_match_inside_tags(w: World) -> None:
    assert call(w, "search_tools/entry_search", uid=UID, query="<b>").status == 404


def test_entry_search_pages_are_zero_based(w: World) -> None:
    args = {"uid": UID, "query": "png OR csv", "page_size": "1"}
    w.store.entries[w.csv_eid].caption = "png OR csv"
    w.store.entries[w.png_eid].caption = "png OR csv"
    first = xml(call(w, "search_tools/entry_search", page_number="0", **args))
    second = xml(call(w, "search_tools/entry_search", page_number="1", **args))
    beyond = xml(call(w, "search_tools/entry_search", page_number="5", **args))
    assert first.findtext("results/total-found") == "2" and first.findtext("results/total-returned") == "1"
    assert first.findtext("entries/entry/eid") == w.csv_eid and second.findtext("entries/entry/eid") == w.png_eid
    assert beyond.findtext("results/total-returned") == "0"


def test_entry_search_zero_hits_is_404_with_the_configured_code(w: World) -> None:
    """§6.5 [DOC]: no match is HTTP 404; the body's code is a documented choice (4512), configurable."""
    response = call(w, "search_tools/entry_search", uid=UID, query="nothing-like-this")
    assert (response.status, error_code(response)) == (404, 4512)
    w.handler.config.search_miss_code = 4517
    assert error_code(call(w, "search_tools/entry_search", uid=UID, query="nothing-like-this")) == 4517


def test_entry_search_respects_permissions_and_nbid(w: World) -> None:
    """§9.7: entries of unreadable pages and invisible notebooks never appear."""
    assert call(w, "search_tools/entry_search", uid=UID, query="hidden secret").status == 404
    assert call(w, "search_tools/entry_search", uid=OTHER_UID, query="hidden secret").status == 200
    assert call(w, "search_tools/entry_search", uid=UID, query="pcr", nbid=w.nb_b).status == 404
    assert error_code(call(w, "search_tools/entry_search", uid=UID, query="pcr", nbid=w.nb_hidden)) == 4501


def test_attachment_search_by_extension(w: World) -> None:
    root = xml(call(w, "search_tools/attachment_search", uid=UID, extension="png,gif"))
    assert [e.findtext("attach-file-name") for e in root.iterfind("entries/entry")] == ["gel é.png"]
    assert call(w, "search_tools/attachment_search", uid=UID, extension="pdf").status == 404


def test_attachment_search_by_update_time(w: World) -> None:
    """§6.5: begin_date/end_date (UTC; format undocumented [INF]: ISO 8601, a bare date is the whole day)."""
    day = 1_772_323_200  # 2026-03-01T00:00:00Z
    w.store.add_attachment(None, "march.csv", b"a,b\n", "text/csv", owner=UID, at=day + 3_600)
    w.store.add_attachment(None, "april.csv", b"a,b\n", "text/csv", owner=UID, at=day + 31 * 86_400 + 1)

    def names(**dates: str) -> list[str | None]:
        answer = call(w, "search_tools/attachment_search", uid=UID, extension="csv", **dates)
        return (
            []
            if answer.status == 404
            else [e.findtext("attach-file-name") for e in xml(answer).iterfind("entries/entry")]
        )

    assert names(begin_date="2026-03-01", end_date="2026-03-31") == ["march.csv"]
    assert names(begin_date="2026-03-01T02:00:00Z") == ["april.csv"]
    assert names(begin_date="2026-05-01") == []
    assert error_code(call(w, "search_tools/attachment_search", uid=UID, begin_date="March")) == 4529


def test_inbox_attachment_has_inbox_tree_path(w: World) -> None:
    """§6.5 [SAMPLE]: Inbox entries carry tree-path Inbox and no nbid."""
    w.store.add_attachment(None, "ral.gif", b"GIF89a", "image/gif", owner=UID, at=0, caption="inbox file")
    root = xml(call(w, "search_tools/attachment_search", uid=UID, extension="gif"))
    assert root.findtext("entries/entry/tree-path") == "Inbox" and root.find("entries/entry/nbid") is None
    assert call(w, "search_tools/attachment_search", uid=OTHER_UID, extension="gif").status == 404


def test_api_base_urls(w: World) -> None:
    root = xml(call(w, "utilities/api_base_urls"))
    urls = [r.findtext("url") for r in root.iterfind("regions/region")]
    assert "https://api.labarchives.com/api" in urls


def test_shuffle_reorders_records_but_never_arrays() -> None:
    """§3 [INF]: child order is not fixed; array order (page order) is meaningful and kept."""
    orders = set()
    for seed in range(8):
        w = world(FakeConfig(shuffle_seed=seed))
        root = xml(call(w, "tree_tools/get_entries_for_page", uid=UID, nbid=w.nb_a, page_tree_id=w.page))
        assert [e.findtext("eid") for e in root.iterfind("entries/entry")] == [
            w.text_eid, w.heading_eid, w.csv_eid, w.png_eid,
        ]  # fmt: skip
        orders.add(tuple(child.tag for child in root.findall("entries/entry")[0]))
    assert len(orders) > 1


def test_writer_escapes_text_and_marks_nil() -> None:
    doc = to_bytes(record("x", text("a", "1 < 2 & é\x01"), text("b", None), array("c", [El("d", "v")])))
    assert doc.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(doc)
    assert root.findtext("a") == "1 < 2 & é\ufffd"
    assert root.find("b") is not None and root.find("b").get("nil") == "true"  # type: ignore[union-attr]
    assert root.find("c").get("type") == "array"  # type: ignore[union-attr]
