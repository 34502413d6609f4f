"""The fake's browser sign-in, ``/api_user_login`` (§2.5 A, §9.1), through the pure handler.

Links are signed here with the standard library (HMAC-SHA-512 over akid + raw redirect_uri +
expires, Base64, percent-encoded once: §2.2 [DOC]), not with labmcp's signing code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from labmcp.fake import institution
from labmcp.fake.exchange import FakeConfig, FakeResponse, parse_request
from labmcp.fake.handler import FakeHandler
from labmcp.fake.login import AUTH_CODE_LIFETIME_MS
from tests.fake.helpers import NOW, error_code, signed, xml

REDIRECT = "https://mcp.example.edu/auth/callback/state-abc"
ALICE = institution.RESEARCHERS[0]


def handler() -> FakeHandler:
    return FakeHandler(institution.build(), FakeConfig())


def link_params(redirect: str = REDIRECT, expires: int = NOW, akid: str = institution.AKID) -> dict[str, str]:
    message = f"{akid}{redirect}{expires}".encode()
    digest = hmac.new(institution.PASSWORD.encode(), message, hashlib.sha512).digest()
    return {"akid": akid, "expires": str(expires), "redirect_uri": redirect, "sig": base64.b64encode(digest).decode()}


def get(h: FakeHandler, params: dict[str, str], now: int = NOW) -> FakeResponse:
    target = "/api_user_login?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
    return h.handle(parse_request("GET", target, {}, b""), now)


def post(h: FakeHandler, form: dict[str, str], now: int = NOW) -> FakeResponse:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return h.handle(parse_request("POST", "/api_user_login", headers, urlencode(form).encode()), now)


def location(response: FakeResponse) -> dict[str, list[str]]:
    assert response.status == 302
    url = dict(response.headers)["Location"]
    assert url.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(url).query)


def redeem(h: FakeHandler, email: str, code: str, now: int = NOW) -> FakeResponse:
    request = signed(
        "users/user_access_info",
        now,
        akid=institution.AKID,
        akpass=institution.PASSWORD,
        login_or_email=email,
        password=code,
    )
    return h.handle(request, now)


def test_a_signed_link_shows_a_login_form_carrying_the_signed_fields() -> None:
    page = get(handler(), link_params())
    assert page.status == 200 and b'method="post"' in page.body and b'name="password"' in page.body
    assert quote(REDIRECT, safe="").encode() not in page.body and REDIRECT.encode() in page.body


def test_bad_links_are_refused_like_api_calls() -> None:
    h = handler()
    assert error_code(get(h, {**link_params(), "sig": link_params()["sig"][:-4] + "AAA="})) == 4520
    assert error_code(get(h, link_params(redirect=REDIRECT + "x") | {"redirect_uri": REDIRECT})) == 4520
    assert error_code(get(h, link_params(akid="nope"))) == 4506
    assert error_code(get(h, link_params(expires=NOW - 121_000))) == 4504
    assert error_code(get(h, {k: v for k, v in link_params().items() if k != "sig"})) == 4500


def test_sign_in_redirects_with_a_single_use_code_that_user_access_info_redeems() -> None:
    h = handler()
    back = location(post(h, {**link_params(), "login": ALICE.email, "password": ALICE.password, "signin": "1"}))
    assert back["email"] == [ALICE.email]
    code = back["auth_code"][0]
    first = redeem(h, ALICE.email, code)
    assert first.status == 200 and xml(first).findtext("id") == ALICE.uid
    assert error_code(redeem(h, ALICE.email, code)) == 4514  # reused


def test_a_code_expires() -> None:
    h = handler()
    back = location(post(h, {**link_params(), "login": ALICE.email, "password": ALICE.password, "signin": "1"}))
    assert error_code(redeem(h, ALICE.email, back["auth_code"][0], now=NOW + AUTH_CODE_LIFETIME_MS)) == 4514


def test_cancel_wrong_password_and_a_changed_redirect() -> None:
    h = handler()
    assert location(post(h, {**link_params(), "cancel": "1"})) == {"error": ["access_denied"]}
    wrong = post(h, {**link_params(), "login": ALICE.email, "password": "nope", "signin": "1"})
    assert wrong.status == 200 and b"incorrect" in wrong.body
    forged = post(h, {**link_params(), "redirect_uri": "https://evil.example/cb", "login": ALICE.email,
                      "password": ALICE.password, "signin": "1"})  # fmt: skip
    assert error_code(forged) == 4520


def test_a_code_works_only_for_its_own_user() -> None:
    h = handler()
    back = location(post(h, {**link_params(), "login": ALICE.email, "password": ALICE.password, "signin": "1"}))
    assert error_code(redeem(h, institution.RESEARCHERS[1].email, back["auth_code"][0])) == 4514
