"""Search's pure parts: the cursor, the entry-url hint, the one link builder and its scheme gate."""

from __future__ import annotations

import base64

import pytest

from labmcp.errors import ConfigError, InvalidArgumentError
from labmcp.labarchives.regions import resolve_web_host
from labmcp.notebook.cursor import CursorCodec
from labmcp.notebook.links import Links, safe_link
from labmcp.notebook.search import _page_hint


def test_a_cursor_round_trips_and_hides_its_position() -> None:
    codec = CursorCodec()
    cursor = codec.encode("q\x00nb\x0010", 0, 110)
    assert codec.decode("q\x00nb\x0010", cursor) == (0, 110)
    assert "110" not in cursor and b"\x00\x00\x00\x6e" not in base64.urlsafe_b64decode(cursor + "==")
    assert codec.encode("q\x00nb\x0010", 0, 110) != cursor  # a fresh nonce each time


@pytest.mark.parametrize("binding", ["other\x00nb\x0010", "q\x00\x0010", "q\x00nb\x0011"])
def test_a_cursor_works_only_for_its_own_search(binding: str) -> None:
    codec = CursorCodec()
    cursor = codec.encode("q\x00nb\x0010", 1, 50)
    with pytest.raises(InvalidArgumentError, match="cursor is not valid"):
        codec.decode(binding, cursor)


def test_a_tampered_or_foreign_cursor_is_refused() -> None:
    codec = CursorCodec()
    cursor = codec.encode("q", 0, 5)
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=="))
    raw[9] ^= 1
    for bad in (base64.urlsafe_b64encode(bytes(raw)).decode(), "", "%%%", "AAAA", CursorCodec().encode("q", 0, 5)):
        with pytest.raises(InvalidArgumentError):
            codec.decode("q", bad)


def test_the_entry_url_hint_reads_both_page_link_shapes_of_the_notebook() -> None:
    nb = "MTAwMS4z+fDI4/Tm90=="
    web = "https://mynotebook.labarchives.com"
    labapi = f"{web}/MTAwMS4z%2BfDI4%2FTm90%3D%3D/page/UGFn%2FZQ%3D%3D#RW50"
    assert _page_hint(labapi, nb) == "UGFn/ZQ=="
    assert _page_hint(f"{web}/#/MTAwMS4z%2BfDI4%2FTm90%3D%3D/UGFn%2FZQ%3D%3D", nb) == "UGFn/ZQ=="  # NexusLIMS
    assert _page_hint(f"{web}/notebooks/MTAwMS4z%2BfDI4%2FTm90%3D%3D/pages/UGFn", nb) == "UGFn"
    assert _page_hint(labapi, "another") is None
    for not_a_page in (
        f"{web}/inbox#RW50",
        f"{web}/share/5f2a9c",
        f"{web}/MTAwMS4z%2BfDI4%2FTm90%3D%3D",
        f"{web}/MTAwMS4z%2BfDI4%2FTm90%3D%3D/page/",
        f"{web}/#/MTAwMS4z%2BfDI4%2FTm90%3D%3D/MTAwMS4z%2BfDI4%2FTm90%3D%3D",
        "",
        "http://[::1",
    ):
        assert _page_hint(not_a_page, nb) is None, not_a_page


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " javascript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "file:///etc/passwd",
        "https://",
        "https://host/a b",
        "https://host/\nx",
        "//host/path",
        "",
    ],
)
def test_only_http_https_and_mailto_links_pass(url: str) -> None:
    assert safe_link(url) is None


def test_good_links_pass_and_pages_are_built_from_ids() -> None:
    for url in ("https://mynotebook.labarchives.com/x", "http://127.0.0.1:8/x", "mailto:someone@example.org"):
        assert safe_link(url) == url
    links = Links("https://eu-mynotebook.labarchives.com/")
    assert links.page("a/b", "c+d=") == "https://eu-mynotebook.labarchives.com/a%2Fb/page/c%2Bd%3D"
    with pytest.raises(ValueError, match="web host"):
        Links("javascript:alert(1)")


def test_the_web_host_follows_the_region_not_a_custom_api_base() -> None:
    assert resolve_web_host("eu", None, None) == "https://eu-mynotebook.labarchives.com"
    assert resolve_web_host("us", "https://proxy.example.org/api", None) == "https://mynotebook.labarchives.com"
    assert resolve_web_host("au", None, "https://eln.example.edu/") == "https://eln.example.edu"
    for bad in ("javascript:alert(1)", "ftp://x", "https://u:p@x", "https://x/path", "https://x?q"):
        with pytest.raises(ConfigError):
            resolve_web_host("us", None, bad)
