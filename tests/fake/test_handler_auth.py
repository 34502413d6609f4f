"""Routing and call authentication of the fake's pure core (spec §2, §5, §9.1-9.4)."""

from __future__ import annotations

import pytest

from labmcp.fake.exchange import FakeConfig, parse_request
from labmcp.fake.handler import FakeHandler
from labmcp.fake.store import Store
from labmcp.labarchives.signing import encode_once
from tests.fake.helpers import AKID, EMAIL, NOW, PASSWORD, TOKEN, UID, World, call, error_code, signed, world, xml

VECTOR_AKID, VECTOR_PASSWORD, VECTOR_EXPIRES = "0234wedkfjrtfd34er", "1234567890", 264433207000
VECTOR_SIG = "mT7pS%2BKgqlNseR0bo4YLQOVIsgOugMWzlQGllInXS25Q7VpA6lRmL0nUq%2FUUdrlF%2BWV7POYE1vcwvN%2Fpnac7bw%3D%3D"


@pytest.fixture
def w() -> World:
    return world()


def _vector_handler(config: FakeConfig) -> FakeHandler:
    store = Store()
    store.add_akid(VECTOR_AKID, VECTOR_PASSWORD)
    store.add_user(UID, "v@example.org", VECTOR_AKID, "Vector User")
    return FakeHandler(store, config)


def test_official_vector_is_accepted_through_the_handler() -> None:
    """§2.3 [DOC] KD-vector: the URL-encoded official signature passes; the fake's clock is set to its expires."""
    handler = _vector_handler(FakeConfig())
    target = f"/api/entries/entry_attachment?akid={VECTOR_AKID}&expires={VECTOR_EXPIRES}&sig={VECTOR_SIG}&uid=x"
    response = handler.handle(parse_request("GET", target, {}, b""), VECTOR_EXPIRES)
    assert error_code(response) == 4507  # signature passed; the uid check comes next


def test_official_vector_fails_for_another_method() -> None:
    """§2.2 [DOC]: the method name is signed, so the same sig on another method is 4520 with HTTP 401."""
    handler = _vector_handler(FakeConfig())
    target = f"/api/entries/entry_info?akid={VECTOR_AKID}&expires={VECTOR_EXPIRES}&sig={VECTOR_SIG}&uid=x"
    response = handler.handle(parse_request("GET", target, {}, b""), VECTOR_EXPIRES)
    assert (response.status, error_code(response)) == (401, 4520)


def test_double_encoded_signature_is_rejected() -> None:
    """§2.2 [DOC]: the sig is compared after exactly one URL decoding."""
    handler = _vector_handler(FakeConfig())
    twice = VECTOR_SIG.replace("%", "%25")
    target = f"/api/entries/entry_attachment?akid={VECTOR_AKID}&expires={VECTOR_EXPIRES}&sig={twice}&uid=x"
    assert error_code(handler.handle(parse_request("GET", target, {}, b""), VECTOR_EXPIRES)) == 4520


def test_unencoded_plus_in_signature_is_rejected() -> None:
    """A raw '+' in a query decodes to a space, as on any real server; the client must send %2B (§8.2)."""
    handler = _vector_handler(FakeConfig())
    raw = "mT7pS+KgqlNseR0bo4YLQOVIsgOugMWzlQGllInXS25Q7VpA6lRmL0nUq/UUdrlF+WV7POYE1vcwvN/pnac7bw=="
    target = f"/api/entries/entry_attachment?akid={VECTOR_AKID}&expires={VECTOR_EXPIRES}&sig={raw}&uid=x"
    assert error_code(handler.handle(parse_request("GET", target, {}, b""), VECTOR_EXPIRES)) == 4520


@pytest.mark.parametrize("accept_sha1", [False, True])
def test_sha1_signature_only_behind_the_flag(accept_sha1: bool) -> None:
    """§2.2 [INF]: SHA-1 is legacy; the fake accepts it only with accept_sha1."""
    w = world(FakeConfig(accept_sha1=accept_sha1))
    response = w.handler.handle(signed("users/max_file_size", hash_name="sha1", uid=UID), NOW)
    assert (response.status == 200) is accept_sha1
    if not accept_sha1:
        assert error_code(response) == 4520


@pytest.mark.parametrize("missing", ["akid", "expires", "sig"])
def test_missing_auth_parameter_is_4500_with_401(w: World, missing: str) -> None:
    """§9.2 [DOC code]: akid, expires and sig are mandatory."""
    request = signed("users/max_file_size", uid=UID)
    params = {k: v for k, v in request.params.items() if k != missing}
    response = w.handler.handle(request.__class__("GET", request.path, params), NOW)
    assert (response.status, error_code(response)) == (401, 4500)


def test_unknown_akid_is_4506(w: World) -> None:
    response = w.handler.handle(signed("users/max_file_size", akid="nope", uid=UID), NOW)
    assert (response.status, error_code(response)) == (401, 4506)


def test_non_integer_expires_is_4529(w: World) -> None:
    """§9.2 [CODE] LABAPI-mock."""
    request = signed("users/max_file_size", uid=UID)
    params = {**request.params, "expires": "12.5"}
    response = w.handler.handle(request.__class__("GET", request.path, params), NOW)
    assert (response.status, error_code(response)) == (401, 4529)


@pytest.mark.parametrize(
    ("skew_ms", "expected"),
    [(-120_001, 4504), (-120_000, 200), (0, 200), (60_000, 200), (300_000, 200), (300_001, 4529)],
)
def test_expires_window(w: World, skew_ms: int, expected: int) -> None:
    """§2.4 [DOC]: older than two minutes is 4504; the future bound is the configurable 5 min [INF]."""
    response = w.handler.handle(signed("users/max_file_size", NOW + skew_ms, uid=UID), NOW)
    assert (response.status if expected == 200 else error_code(response)) == expected


def test_clock_offset_moves_the_window() -> None:
    """A fake running 10 minutes ahead rejects a client that did not sync its clock."""
    w = world(FakeConfig(clock_offset_ms=600_000))
    assert error_code(w.handler.handle(signed("users/max_file_size", NOW, uid=UID), NOW)) == 4504
    assert w.handler.handle(signed("users/max_file_size", NOW + 600_000, uid=UID), NOW).status == 200


def test_epoch_time_needs_only_the_akid(w: World) -> None:
    """§2.2 [DOC]: no expires, no sig; the value includes the clock offset and is the first child."""
    w.handler.config.clock_offset_ms = -600_000
    response = w.handler.handle(parse_request("GET", f"/api/utilities/epoch_time?akid={AKID}", {}, b""), NOW)
    root = xml(response)
    assert root.tag == "utilities"
    assert (root[0].tag, root[0].text) == ("epoch-time", str(NOW - 600_000))
    bad = w.handler.handle(parse_request("GET", "/api/utilities/epoch_time?akid=nope", {}, b""), NOW)
    assert error_code(bad) == 4506


def test_epoch_time_stays_first_when_shuffled() -> None:
    for seed in range(10):
        w = world(FakeConfig(shuffle_seed=seed))
        response = w.handler.handle(parse_request("GET", f"/api/utilities/epoch_time?akid={AKID}", {}, b""), NOW)
        assert xml(response)[0].tag == "epoch-time"


@pytest.mark.parametrize(
    "path", ["/api/users/no_such_method", "/api/nope/epoch_time", "/api/users", "/users/user_info_via_id", "/"]
)
def test_unknown_route_is_4503_with_404(w: World, path: str) -> None:
    response = w.handler.handle(parse_request("GET", f"{path}?akid={AKID}", {}, b""), NOW)
    assert (response.status, error_code(response)) == (404, 4503)


def test_unknown_revoked_or_missing_uid(w: World) -> None:
    """§9.4 [DOC]: an unknown or revoked uid is 4507; a missing one 4500."""
    assert error_code(call(w, "users/user_info_via_id", uid="nobody")) == 4507
    assert error_code(call(w, "users/user_info_via_id")) == 4500
    assert call(w, "users/user_info_via_id", uid=UID).status == 200
    w.store.revoke_uid(UID)
    assert error_code(call(w, "users/user_info_via_id", uid=UID)) == 4507


def test_uid_is_bound_to_its_akid(w: World) -> None:
    """§2.1 [DOC]: the uid is scoped to the akid that obtained it."""
    w.store.add_akid("other-akid", "other-pass")
    response = w.handler.handle(signed("users/user_info_via_id", akid="other-akid", akpass="other-pass", uid=UID), NOW)
    assert error_code(response) == 4507


def test_token_login_and_its_failures(w: World) -> None:
    """§2.5 B, §9.4: wrong email/token is 4514 with HTTP 404; tokens expire after 60 minutes."""
    ok = call(w, "users/user_access_info", login_or_email="JANE@example.org", password=TOKEN)
    assert xml(ok).findtext("id") == UID
    for email, token in (("jane@example.org", "wrong"), ("who@example.org", TOKEN)):
        bad = call(w, "users/user_access_info", login_or_email=email, password=token)
        assert (bad.status, error_code(bad)) == (404, 4514)
    later = NOW + 60 * 60 * 1000
    expired = w.handler.handle(signed("users/user_access_info", later, login_or_email=EMAIL, password=TOKEN), later)
    assert error_code(expired) == 4514


def test_post_form_body_is_merged_with_the_query(w: World) -> None:
    """§1.2 [INF]: the server merges query and x-www-form-urlencoded body parameters."""
    request = signed("users/user_info_via_id")
    target = request.path + "?" + "&".join(f"{k}={v}" for k, v in [("akid", AKID), ("expires", str(NOW))])
    sig = request.params["sig"]
    body = f"uid={encode_once(UID)}&sig={encode_once(sig)}".encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    response = w.handler.handle(parse_request("POST", target, headers, body), NOW)
    assert xml(response).findtext("id") == UID


def test_password_and_token_are_never_echoed(w: World) -> None:
    """§3 [SAMPLE]: the request echo has login-or-email but never the password."""
    body = call(w, "users/user_access_info", login_or_email=EMAIL, password=TOKEN).body.decode()
    assert TOKEN not in body and PASSWORD not in body
    echo = xml(call(w, "users/user_access_info", login_or_email=EMAIL, password=TOKEN)).find("request")
    assert echo is not None
    assert echo.findtext("class") == "users" and echo.findtext("method") == "user_access_info"
    assert echo.findtext("login-or-email") == EMAIL and echo.findtext("akid") == AKID
    assert echo.findtext("password") is None


def test_configured_status_map_is_used(w: World) -> None:
    """§5.3 [INF]: statuses per code are a config knob, not a fact."""
    w.handler.config.status_map[4507] = 400
    assert call(w, "users/user_info_via_id", uid="nobody").status == 400
