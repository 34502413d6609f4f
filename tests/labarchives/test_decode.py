"""XML shapes of §3, §6 and §7 decoded by tag name; hostile bodies refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from xml.sax.saxutils import escape

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labmcp.errors import UpstreamError
from labmcp.labarchives import decode

OFFICIAL_USER = b"""<?xml version="1.0" encoding="UTF-8"?>
<users>
  <fullname>James Earl Jones</fullname>
  <id>285489257Ho's9^Lt4116011183268315271</id>
  <auto-login-allowed type="boolean">true</auto-login-allowed>
  <request>
    <expires>1264451939000</expires><class>users</class><login-or-email>login name</login-or-email>
    <sig>NszdrOeOs+83M44XcKh1xjtbonQ=</sig><method>user_access_info</method><akid>dfgdfgdfgdfg</akid>
    <id>not-the-uid</id>
  </request>
  <notebooks type="array">
    <notebook><is-default type="boolean">true</is-default><name>James's notebook</name><id>MS4zfDEvMS9Ob3RlYm9va3wzLjM=</id></notebook>
    <notebook><is-default type="boolean">false</is-default><name>James alternate notebook</name><id>NDQuMnwzNC8zNC9Ob3RlYm9va3wxMTIuMg==</id></notebook>
  </notebooks>
</users>"""


def test_official_user_sample_decodes_uid_and_notebooks() -> None:
    """§6.1 [SAMPLE] LJS-fixtures: <fullname> before <id>; uid is the top-level <id>."""
    user = decode.decode_user(decode.parse_xml(OFFICIAL_USER, "user_access_info"), "user_access_info")
    assert user.uid == "285489257Ho's9^Lt4116011183268315271"
    assert user.fullname == "James Earl Jones"
    assert user.auto_login_allowed is True
    assert [nb.id for nb in user.notebooks] == ["MS4zfDEvMS9Ob3RlYm9va3wzLjM=", "NDQuMnwzNC8zNC9Ob3RlYm9va3wxMTIuMg=="]
    assert user.notebooks[0].is_default and not user.notebooks[1].is_default


def test_one_element_tree_level_and_unknown_elements() -> None:
    """§3: one-element arrays are still wrapped; extra elements are ignored."""
    body = b"""<tree-tools><future-thing>x</future-thing><level-nodes type="array"><level-node>
      <user-access><can-write type="boolean">false</can-write><can-read type="boolean">true</can-read></user-access>
      <display-text>Experiments &amp; Results</display-text><tree-id>VHJlZQ==</tree-id><is-page type="boolean">false</is-page>
      <surprise/></level-node></level-nodes><request><tree-id>echo</tree-id></request></tree-tools>"""
    (node,) = decode.decode_tree_level(decode.parse_xml(body, "get_tree_level"))
    assert node.tree_id == "VHJlZQ=="
    assert node.display_text == "Experiments & Results"
    assert not node.is_page
    assert node.user_access.can_read and not node.user_access.can_write


def test_page_entries_ignore_the_entry_data_echo_in_request() -> None:
    """§3, §8.4 [LIVE] AF: <request> echoes <entry-data>true</entry-data>; it is not an entry."""
    body = b"""<tree-tools><request><entry-data>true</entry-data><page-tree-id>p</page-tree-id></request>
      <results><total-returned type="integer">2</total-returned></results>
      <entries type="array">
        <entry><part-type>text entry</part-type><eid>E1</eid><entry-data>&lt;p&gt;Hello&lt;/p&gt;</entry-data>
          <created-at type="datetime">2026-01-05T10:00:00Z</created-at><version type="integer">3</version></entry>
        <entry><eid>E2</eid><part-type>Attachment</part-type><attach-file-name>plate.csv</attach-file-name>
          <attach-file-size type="integer">5662</attach-file-size><attach-content-type>text/csv</attach-content-type>
          <caption>Plate reader</caption><entry-data nil="true"/></entry>
      </entries></tree-tools>"""
    page = decode.decode_page_entries(decode.parse_xml(body, "get_entries_for_page"))
    assert page.total_returned == 2
    first, second = page.entries
    assert first.entry_data == "<p>Hello</p>"
    assert first.created_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert first.version == 3
    assert second.entry_data is None
    assert second.attach_file_size == 5662
    assert second.caption == "Plate reader"


def test_empty_page_has_zero_entries() -> None:
    """§5.3 [LIVE] AF: an empty page answers 200 with total-returned 0."""
    body = b'<tree-tools><results><total-returned type="integer">0</total-returned></results><entries type="array"/></tree-tools>'
    page = decode.decode_page_entries(decode.parse_xml(body, "get_entries_for_page"))
    assert page.entries == ()
    assert page.total_returned == 0


def test_official_attachment_search_sample() -> None:
    """§6.5 [SAMPLE]: Inbox hits have no nbid; counts come from <results>."""
    body = b"""<search-tools><results><total-returned type="integer">2</total-returned>
      <total-found type="integer">4</total-found></results><entries type="array">
      <entry><eid>Ny44fC0xLzYvSW5ib3hFbnRyeVBhcnR8MTkuOA==</eid><tree-path>Inbox</tree-path>
        <updated-at type="datetime">2010-01-23T15:31:18Z</updated-at><part-type>Attachment</part-type></entry>
      <entry><eid>ODUyNS40fDEvNjU1OC9FbnRyeVBhcnR8MjE2NDEuNA==</eid><tree-path>Project 3/New Page</tree-path>
        <nbid>MS4zfDEvMS9Ob3RlYm9va3wzLjM=</nbid><part-type>Attachment</part-type></entry>
      </entries><request><class>search_tools</class></request></search-tools>"""
    results = decode.decode_search(decode.parse_xml(body, "attachment_search"), "attachment_search")
    assert results.total_found == 4
    assert results.entries[0].nbid == ""
    assert results.entries[1].tree_path == "Project 3/New Page"


def test_epoch_time_is_read_by_name() -> None:
    body = b"<utilities><epoch-time>1767225600123</epoch-time><request><akid>a</akid></request></utilities>"
    assert decode.decode_epoch_time(decode.parse_xml(body, "epoch_time")) == 1767225600123


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><users>&lol2;</users>',
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><users><id>&xxe;</id></users>',
        b"<users><id>1</id>",
        b"not xml at all",
        b"",
    ],
)
def test_hostile_or_broken_bodies_raise_a_clear_upstream_error(body: bytes) -> None:
    with pytest.raises(UpstreamError, match="LabArchives get_tree_level"):
        decode.parse_xml(body, "get_tree_level")


def test_wrong_root_is_an_upstream_error() -> None:
    with pytest.raises(UpstreamError, match="<html>"):
        decode.decode_tree_level(decode.parse_xml(b"<html><body/></html>", "get_tree_level"))


@given(st.binary(max_size=300))
def test_parse_never_raises_anything_but_upstream_error(body: bytes) -> None:
    try:
        decode.parse_xml(body, "m")
    except UpstreamError:
        pass


@given(
    st.permutations(
        ["<tree-id>T</tree-id>", "<display-text>D</display-text>", '<is-page type="boolean">true</is-page>']
    )
)
def test_child_order_does_not_matter(children: list[str]) -> None:
    body = (
        f"<tree-tools><level-nodes type='array'><level-node>{''.join(children)}</level-node></level-nodes></tree-tools>"
    )
    (node,) = decode.decode_tree_level(decode.parse_xml(body.encode(), "get_tree_level"))
    assert (node.tree_id, node.display_text, node.is_page) == ("T", "D", True)


@pytest.mark.parametrize(
    ("extra", "parent"),
    [
        ("<parent-tree-id>Rm9sZGVy</parent-tree-id>", "Rm9sZGVy"),
        ("<parent-tree-id>0</parent-tree-id>", "0"),
        ("<parent-tree-id/>", "0"),
        ("", None),
    ],
)
def test_get_node_names_its_parent_only_when_the_answer_does(extra: str, parent: str | None) -> None:
    """§6.3 leaves the layout open: no <parent-tree-id> means "not said", an empty one the top level."""
    body = (
        "<tree-tools><node><display-text>Day 1</display-text><tree-id>UGFnZQ==</tree-id>"
        f'<is-page type="boolean">true</is-page><entry-count type="integer">3</entry-count>{extra}</node></tree-tools>'
    )
    details = decode.decode_node(decode.parse_xml(body.encode(), "get_node"))
    assert details.node.tree_id == "UGFnZQ==" and details.node.is_page
    assert details.parent_tree_id == parent and details.entry_count == 3


# --- the two parsers behind parse_xml build what ElementTree builds ---------------------------------

_NAMES = st.sampled_from(["entry", "entry-data", "eid", "level-node", "nil-field", "x"])
_TEXTS = st.text(alphabet="ab <>&\"'µ—\u00e9\U0001f600\n", max_size=40)


@st.composite
def _documents(draw: st.DrawFn, depth: int = 0) -> str:
    """An element with attributes, text (often escaped HTML, so both parsers are taken) and children."""
    name = draw(_NAMES)
    attrs = "".join(
        f' a{i}="{escape(v, {chr(34): "&quot;"})}"' for i, v in enumerate(draw(st.lists(_TEXTS, max_size=2)))
    )
    children = draw(st.lists(_documents(depth + 1), max_size=3)) if depth < 3 else []
    texts = [escape(t) for t in draw(st.lists(_TEXTS, min_size=len(children) + 1, max_size=len(children) + 1))]
    body = texts[0] + "".join(child + tail for child, tail in zip(children, texts[1:], strict=True))
    return f"<{name}{attrs}>{body}</{name}>"


BOTH_PARSERS = pytest.mark.parametrize("method", ["get_tree_level", "get_entries_for_page"])


@BOTH_PARSERS
@given(document=_documents())
def test_the_tree_is_the_one_elementtree_builds(method: str, document: str) -> None:
    """Whichever parser parse_xml takes (entries or listing), the tree equals the stdlib's."""
    assert ET.tostring(decode.parse_xml(document, method)) == ET.tostring(ET.fromstring(document))
    assert ET.tostring(decode.parse_xml(document.encode(), method)) == ET.tostring(ET.fromstring(document))


_ESCAPED = "&lt;p&gt;x&amp;y&lt;/p&gt;" * 3  # more character references than tags: the buffered parser


@pytest.mark.parametrize(
    "document",
    [
        f'<a xmlns="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><b xsi:nil="true"/>{_ESCAPED}</a>',
        f"<a>{_ESCAPED}<!-- note --><?pi data?><![CDATA[<b>raw</b>]]>&#233;&#x1F600;</a>",
        f'<x:a xmlns:x="u"><x:b x:y="1">{_ESCAPED}</x:b></x:a>',
    ],
)
@BOTH_PARSERS
def test_namespaces_comments_and_character_data_read_as_elementtree_reads_them(method: str, document: str) -> None:
    assert ET.tostring(decode.parse_xml(document, method)) == ET.tostring(ET.fromstring(document))


def test_escaped_html_arrives_as_one_text() -> None:
    html = "<p>cell &amp; more</p>" * 20_000
    page = decode.decode_page_entries(
        decode.parse_xml(
            f"<tree-tools><entries><entry><eid>e1</eid><part-type>text entry</part-type>"
            f"<entry-data>{escape(html)}</entry-data></entry></entries></tree-tools>",
            "get_entries_for_page",
        )
    )
    assert page.entries[0].entry_data == html


@BOTH_PARSERS
@pytest.mark.parametrize("filler", ["", "&amp;&amp;&amp;"])
def test_an_absurd_element_count_is_refused_by_either_parser(method: str, filler: str) -> None:
    body = "<tree-tools><level-nodes>" + f"<x>{filler}</x>" * (decode.MAX_ELEMENTS + 10) + "</level-nodes></tree-tools>"
    with pytest.raises(UpstreamError, match="elements"):
        decode.parse_xml(body, method)


@BOTH_PARSERS
@pytest.mark.parametrize("at", [0, 65_530, 65_536 - 4, 70_000])
def test_a_declaration_is_refused_wherever_the_pieces_split_it(method: str, at: int) -> None:
    # A DOCTYPE after a long comment lands on (or across) a piece boundary; both parsers refuse it.
    body = "<!--" + "x" * at + '-->\n<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>'
    for form in (body, body.encode(), body.encode("utf-16")):
        with pytest.raises(UpstreamError, match="DTD or entity"):
            decode.parse_xml(form, method)


@pytest.mark.parametrize(
    "body", ["<a>&lt;&lt;&lt;<b></a>", "<a>&lt;&lt;&lt;&nbsp;</a>", "&lt;&lt;&lt;", "<a>&lt;&lt;</a><b/>"]
)
def test_broken_escaped_text_is_malformed_xml(body: str) -> None:
    with pytest.raises(UpstreamError, match="malformed XML"):
        decode.parse_xml(body, "get_entries_for_page")
