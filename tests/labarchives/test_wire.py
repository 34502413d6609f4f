"""Bodies bounded before they expand: content codings and charsets, without sockets."""

from __future__ import annotations

import gzip
import xml.etree.ElementTree as ET
import zlib
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labmcp.errors import UpstreamError
from labmcp.labarchives import decode, protocol, wire

MIB = 1024 * 1024
BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="{enc}"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><users><id>&lol1;</id></users>'
)


def _collect(encoding: str, raw: bytes, cap: int, chunk: int = 4096) -> bytes:
    body = wire.BoundedBody(encoding, cap)
    for start in range(0, len(raw), chunk):
        body.feed(raw[start : start + chunk])
    return body.finish()


def test_stacked_gzip_bomb_stops_at_the_cap_of_the_first_step_that_passes_it() -> None:
    """1,905-byte-class bomb: 64 MiB of zeros gzipped twice trips the cap, never inflating it all."""
    bomb = gzip.compress(gzip.compress(b"\x00" * 64 * MIB))
    assert len(bomb) < 100_000
    body = wire.BoundedBody("gzip, gzip", MIB)
    with pytest.raises(wire.BodyTooLarge) as caught:
        body.feed(bomb)
        body.finish()
    assert caught.value.cap == MIB
    assert len(body.prefix()) <= MIB


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "gzip, identity", "deflate, gzip"])
def test_legitimate_codings_decode_exactly(coding: str) -> None:
    payload = b"<users><id>u1</id></users>" * 1000
    raw = payload
    for step in [c.strip() for c in coding.split(",")]:
        if step in ("gzip", "x-gzip"):
            raw = gzip.compress(raw)
        elif step == "deflate":
            raw = zlib.compress(raw)
    assert _collect(coding, raw, MIB) == payload


def test_raw_deflate_and_multi_member_gzip_decode() -> None:
    payload = b"abc" * 10_000
    raw = zlib.compressobj(wbits=-15)
    assert _collect("deflate", raw.compress(payload) + raw.flush(), MIB) == payload
    assert _collect("gzip", gzip.compress(payload) + gzip.compress(payload), MIB) == payload * 2


@pytest.mark.parametrize("coding", ["br", "zstd", "compress", "gzip, br"])
def test_codings_we_cannot_bound_are_refused(coding: str) -> None:
    with pytest.raises(wire.BadBody, match="Content-Encoding"):
        wire.BoundedBody(coding, MIB)


def test_corrupt_gzip_is_a_clear_error() -> None:
    with pytest.raises(wire.BadBody, match="not valid gzip"):
        _collect("gzip", b"\x1f\x8b\x08\x00garbage-garbage-garbage", MIB)


def test_identity_body_over_the_cap_keeps_exactly_the_cap() -> None:
    body = wire.BoundedBody("", 10)
    with pytest.raises(wire.BodyTooLarge):
        body.feed(b"0123456789abcdef")
    assert body.prefix() == b"0123456789"


@pytest.mark.parametrize("enc", ["UTF-16", "UTF-16LE", "UTF-16BE", "UTF-32", "UTF-8", "ISO-8859-1"])
def test_a_dtd_is_refused_in_every_encoding_the_document_declares(enc: str) -> None:
    """The same billion laughs in UTF-16 passed a byte scan; the check now runs on decoded text."""
    body = BILLION_LAUGHS.format(enc=enc).encode(enc.replace("UTF-16", "utf-16").replace("UTF-32", "utf-32"))
    with pytest.raises(UpstreamError, match="DTD"):
        decode.parse_xml(body, "get_tree_level")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-8-sig", "utf-32"])
def test_xml_in_other_unicode_encodings_parses(codec: str) -> None:
    body = '<?xml version="1.0"?><users><id>ü1</id></users>'.encode(codec)
    root = decode.parse_xml(body, "user_info_via_id")
    assert root.findtext("id") == "ü1"


def test_declared_latin1_and_wrong_declarations() -> None:
    body = '<?xml version="1.0" encoding="ISO-8859-1"?><users><id>é</id></users>'.encode("latin-1")
    assert decode.parse_xml(body, "m").findtext("id") == "é"
    with pytest.raises(UpstreamError, match="malformed XML"):
        decode.parse_xml(b'<?xml version="1.0" encoding="no-such-codec"?><a/>', "m")
    with pytest.raises(UpstreamError, match="malformed XML"):
        decode.parse_xml(b"<a>\xff\xfe\xfa</a>", "m")


def test_an_absurd_element_count_is_refused_while_parsing() -> None:
    body = "<tree-tools><level-nodes>" + "<x/>" * (decode.MAX_ELEMENTS + 10) + "</level-nodes></tree-tools>"
    with pytest.raises(UpstreamError, match="elements"):
        decode.parse_xml(body, "get_tree_level")


SIG = "AbC+dEf/GhIjK1lMnOpQ9rStUvWxYz0+12345/67890abcdefGHIJKL+mnopq=="


def _echoes(url: str) -> list[str]:
    return [url, unquote(url), unquote_plus(url), url.replace("%2B", "+"), f"blocked: {unquote_plus(url)} (WAF)"]


def test_scrub_removes_every_request_parameter_value_in_every_form() -> None:
    """A WAF page echoing the request: sig, expires, akid, uid and the app token never survive."""
    url = (
        "https://api.labarchives.com/api/users/user_access_info?login_or_email=a%40b.org&password="
        f"{quote('Tok3n+Pass/word=', safe='')}&uid=U123456789&akid=AKID77&expires=1767225600123&sig={quote(SIG, safe='')}"
    )
    for text in _echoes(url):
        out = protocol.scrub(text, ["Tok3n+Pass/word="])
        for value in ("Tok3n", "U123456789", "AKID77", "1767225600123", "GhIjK1", "67890abcdef", "a@b.org"):
            assert value not in out, (text, out)


def test_scrub_keeps_ordinary_descriptions() -> None:
    for text in ("Login and/or password information is incorrect", "The supplied signature parameter was invalid"):
        assert protocol.scrub(text) == text


@given(st.text(alphabet="ABCDEFGHabcdefgh0123456789+/=", min_size=12, max_size=90))
def test_scrub_removes_a_configured_secret_however_it_was_encoded(secret: str) -> None:
    for form in (secret, quote(secret, safe=""), quote_plus(secret), secret.replace("+", " ")):
        out = protocol.scrub(f"echo: x={form} end", [secret])
        assert secret not in out and secret.replace("+", " ") not in out


def test_error_descriptions_are_scrubbed_before_markup_is_stripped() -> None:
    body = (
        b"<error><error-code>4520</error-code><error-description>bad sig="
        + SIG.replace("+", " ").encode()
        + b"</error-description></error>"
    )
    code, desc = protocol.parse_error_body(body)
    assert code == 4520
    assert "GhIjK1" not in desc and "67890abcdef" not in desc


def test_an_absurd_folder_name_is_cut_so_listings_stay_small() -> None:
    body = (
        "<tree-tools><level-nodes><level-node><tree-id>1</tree-id><display-text>"
        + "N" * 3_000_000
        + "</display-text><is-page>false</is-page></level-node></level-nodes></tree-tools>"
    )
    (node,) = decode.decode_tree_level(decode.parse_xml(body, "get_tree_level"))
    assert len(node.display_text) == decode.MAX_NAME_CHARS and node.display_text.endswith("…")


@pytest.mark.parametrize("codec", ["zlib", "bz2", "base64", "rot13", "hex", "uu"])
def test_a_declared_encoding_that_is_not_a_text_encoding_is_refused(codec: str) -> None:
    """Python's codec registry also holds zlib and bz2: a charset must never be a decompressor."""
    body = f'<?xml version="1.0" encoding="{codec}"?><users><id>x</id></users>'.encode()
    with pytest.raises(UpstreamError, match="unknown encoding"):
        decode.parse_xml(body, "user_info_via_id")


def _tree(el: ET.Element) -> tuple[object, ...]:
    return (el.tag, sorted(el.attrib.items()), el.text or "", el.tail or "", tuple(_tree(c) for c in el))


@pytest.mark.parametrize("codec", ["utf-8", "utf-16", "utf-16-be", "utf-32-le", "latin-1", "cp1252"])
@given(st.text(alphabet=st.characters(codec="latin-1", exclude_categories=("Cs", "Cc")), min_size=0, max_size=40))
def test_parse_matches_the_standard_library_across_chunk_boundaries(codec: str, word: str) -> None:
    # Escaped HTML far longer than a chunk, with characters that straddle chunk boundaries in every
    # multi-byte encoding: the tree must be the one ElementTree builds from the whole document.
    html = f"<p>Ünïcödé {word} &amp; <b>bold</b> — µl</p>\n" * 3000
    escaped = html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if codec in ("latin-1", "cp1252"):
        escaped = escaped.replace("—", "-").replace("µ", "u")  # both sides must encode in the codec
    body = (
        f'<?xml version="1.0" encoding="{codec}"?>\n<tree-tools><entries><entry id="1">'
        f"<entry-data>{escaped}</entry-data><part-type>text entry</part-type></entry></entries></tree-tools>"
    ).encode(codec)
    assert len(body) > 2 * wire.CHUNK
    ours = decode.parse_xml(body, "get_entries_for_page")
    try:
        oracle = ET.fromstring(body)
    except (ValueError, ET.ParseError):  # expat reads UTF-16/32 without a BOM only from text
        oracle = ET.fromstring(body.decode(codec).split("?>", 1)[1])
    assert _tree(ours) == _tree(oracle)
