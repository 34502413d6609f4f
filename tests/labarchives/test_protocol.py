"""The wire protocol without sockets: URLs, signatures, error mapping (§1.2, §2, §5)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest

from labmcp.errors import (
    AuthenticationError,
    InvalidRequestError,
    PermissionDeniedError,
    ResourceMissingError,
    UpstreamError,
)
from labmcp.labarchives import protocol
from labmcp.labarchives.protocol import Call

VECTOR_SIG_ENCODED = (
    "mT7pS%2BKgqlNseR0bo4YLQOVIsgOugMWzlQGllInXS25Q7VpA6lRmL0nUq%2FUUdrlF%2BWV7POYE1vcwvN%2Fpnac7bw%3D%3D"
)


def test_url_carries_the_official_vector_signature_encoded_exactly_once() -> None:
    """§2.3 [DOC]: the vector's sig appears percent-encoded once in the query."""
    call = Call.of("entries", "entry_attachment", {"uid": "u", "eid": "e"})
    url = protocol.build_url("https://api.labarchives.com/api", call, "0234wedkfjrtfd34er", "1234567890", 264433207000)
    assert url.startswith("https://api.labarchives.com/api/entries/entry_attachment?")
    assert f"&sig={VECTOR_SIG_ENCODED}" in url
    assert "expires=264433207000" in url


def test_ids_with_plus_slash_equals_and_punctuation_are_percent_encoded() -> None:
    """§3, §8.2: ids and uids are opaque; +, /, =, ', ^ must survive the trip."""
    uid = "285489257Ho's9^Lt4116011183268315271"
    nbid = "ab+c/d=="
    url = protocol.build_url(
        "http://127.0.0.1:1/api", Call.of("tree_tools", "get_tree_level", {"uid": uid, "nbid": nbid}), "ak", "pw", 1
    )
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["uid"] == uid
    assert query["nbid"] == nbid
    assert "+" not in urlsplit(url).query


def test_epoch_time_sends_the_akid_only() -> None:
    """§2.2 [DOC]: utilities/epoch_time takes akid, no expires, no sig."""
    url = protocol.build_url("https://x/api", Call.of("utilities", "epoch_time"), "ak", "pw", 5)
    assert urlsplit(url).query == "akid=ak"


def test_booleans_are_spelled_true_false_and_none_values_dropped() -> None:
    call = Call.of("tree_tools", "get_entries_for_page", {"entry_data": True, "comment_data": None, "x": False})
    assert call.params == (("entry_data", "true"), ("x", "false"))


def test_expires_is_local_time_plus_the_synced_offset() -> None:
    assert protocol.corrected_expires(1_000_000, -600_000) == 400_000


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        (4520, 401, AuthenticationError),
        (4504, 401, AuthenticationError),
        (4506, 401, AuthenticationError),
        (4507, 404, AuthenticationError),
        (4514, 404, AuthenticationError),
        (4533, 401, AuthenticationError),
        (4501, 403, PermissionDeniedError),
        (4547, 403, PermissionDeniedError),
        (4509, 404, ResourceMissingError),
        (4512, 404, ResourceMissingError),
        (4517, 404, ResourceMissingError),
        (4500, 400, InvalidRequestError),
        (4529, 400, InvalidRequestError),
        (4503, 404, InvalidRequestError),
        (4999, 500, UpstreamError),
        (None, 502, UpstreamError),
        (None, 401, AuthenticationError),
    ],
)
def test_errors_map_by_code_first_then_status(code: int | None, status: int, kind: type[Exception]) -> None:
    """§5.3: clients key on <error-code>, not the status."""
    error = protocol.error_for("get_tree_level", status, code, "")
    assert type(error) is kind
    assert "get_tree_level" in str(error)
    if code is not None:
        assert str(code) in str(error)


def test_error_message_names_code_meaning_and_upstream_description() -> None:
    error = protocol.error_for("entry_attachment", 404, 4511, "Entry has no attachment file")
    assert "4511" in str(error)
    assert "no attachment" in str(error)
    assert error.code == 4511
    assert error.status == 404


def test_error_body_fields_are_found_and_description_is_defanged() -> None:
    body = (
        b'<?xml version="1.0"?><error><error-description>The supplied <b>signature</b> parameter was invalid'
        b"</error-description><error-code>4520</error-code></error>"
    )
    code, desc = protocol.parse_error_body(body)
    assert code == 4520
    assert desc == "The supplied signature parameter was invalid"
    assert protocol.parse_error_body(b"garbage") == (None, "")


def test_scrub_removes_secrets_in_plain_and_percent_encoded_form() -> None:
    secret = "p+ss/word=="
    text = f"echo {secret} and p%2Bss%2Fword%3D%3D"
    assert secret not in protocol.scrub(text, [secret])
    assert "p%2Bss" not in protocol.scrub(text, [secret])


def test_search_404_is_a_miss_unless_it_carries_an_auth_or_notebook_code() -> None:
    """§5.3 [DOC]: no-match searches answer 404; that is an empty result."""
    assert protocol.is_search_miss("entry_search", 404, None)
    assert protocol.is_search_miss("entry_search", 404, 4512)
    assert not protocol.is_search_miss("entry_search", 404, 4509)
    assert not protocol.is_search_miss("entry_search", 401, 4520)
    assert not protocol.is_search_miss("get_tree_level", 404, None)


def test_only_5xx_statuses_are_retryable() -> None:
    """§5.4 [DOC]: never retry a 4xx."""
    assert protocol.is_retryable_status(503)
    assert not protocol.is_retryable_status(404)
    assert not protocol.is_retryable_status(429)
