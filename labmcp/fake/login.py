"""The fake's browser sign-in page, ``/api_user_login`` (§2.5 A, §9.1): pure, like the handler.

GET checks the signed link (akid, expires, sig over the raw ``redirect_uri``, §2.2 [DOC]) and
shows a login form; POST checks the same signed fields and the user's web password, then
redirects the browser to ``redirect_uri?auth_code=...&email=...``, or ``?error=access_denied``
when the user cancels. The code is single-use and expires (``AUTH_CODE_LIFETIME_MS``); it is
redeemed by ``users/user_access_info`` (``labmcp.fake.methods``). A wrong password shows the form
again with a message, as a login page does. The real page's markup is unknown; only the
redirect contract is from the sources.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode

from labmcp.fake.exchange import PAST_SKEW_MS, FakeConfig, FakeRequest, FakeResponse, LAError, error_response
from labmcp.fake.store import Store
from labmcp.labarchives.signing import signature

LOGIN_PATH = "/api_user_login"
AUTH_CODE_LIFETIME_MS = 10 * 60 * 1000
"""[INF] "short-lived, redeem promptly" (§2.1); ten minutes here, a test can age it past that."""
_SIGNED = ("akid", "expires", "redirect_uri", "sig")
_HTML = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"))


def _check_link(store: Store, config: FakeConfig, params: Mapping[str, str], now: int, *, fresh: bool) -> None:
    """The signed link's fields; ``fresh`` also checks ``expires`` (when the browser arrives)."""
    akid, expires, redirect_uri, sig = (params.get(k, "") for k in _SIGNED)
    if not (akid and expires and redirect_uri and sig):
        raise LAError(4500, config.auth_status)
    password = store.akids.get(akid)
    if password is None:
        raise LAError(4506, config.auth_status)
    if not expires.isascii() or not expires.isdigit():
        raise LAError(4529, config.auth_status)
    if fresh and int(expires) < now - PAST_SKEW_MS:
        raise LAError(4504, config.auth_status)
    if fresh and int(expires) > now + config.future_skew_ms:
        raise LAError(4529, config.auth_status, "The expires parameter is too far in the future")
    if not hmac.compare_digest(sig.encode(), signature(akid, redirect_uri, expires, password).encode()):
        raise LAError(4520, config.auth_status)


def _form(params: Mapping[str, str], message: str = "") -> FakeResponse:
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(params[k])}">' for k in _SIGNED)
    note = f'<p class="error">{escape(message)}</p>' if message else ""
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>LabArchives sign in</title></head><body>'
        f"<h1>Sign in to LabArchives</h1>{note}"
        f'<form method="post" action="{LOGIN_PATH}">{hidden}'
        '<label>Email <input type="email" name="login"></label>'
        '<label>Password <input type="password" name="password"></label>'
        '<button type="submit" name="signin" value="1">Sign in</button>'
        '<button type="submit" name="cancel" value="1">Cancel</button>'
        "</form></body></html>"
    )
    return FakeResponse(200, _HTML, page.encode())


def _redirect(redirect_uri: str, **params: str) -> FakeResponse:
    joiner = "&" if "?" in redirect_uri else "?"
    return FakeResponse(302, (("Location", redirect_uri + joiner + urlencode(params)),), b"")


def handle(store: Store, config: FakeConfig, request: FakeRequest, now: int) -> FakeResponse:
    """Answer GET (show the form) or POST (sign in or cancel) at server time ``now``."""
    params = request.params
    try:
        _check_link(store, config, params, now, fresh=request.verb != "POST")
    except LAError as exc:
        return error_response(config, exc.code, exc.status, exc.description)
    if request.verb != "POST":
        return _form(params)
    redirect_uri = params["redirect_uri"]
    if "cancel" in params:
        return _redirect(redirect_uri, error="access_denied")
    user = store.user_by_email(params.get("login", ""))
    given = params.get("password", "").encode()
    if user is None or user.revoked or not user.password or not hmac.compare_digest(given, user.password.encode()):
        return _form(params, "Login and/or password information is incorrect")
    if user.akid != params["akid"]:
        return _redirect(redirect_uri, error="access_denied")
    code = secrets.token_urlsafe(18)
    user.auth_codes[code] = now + AUTH_CODE_LIFETIME_MS
    return _redirect(redirect_uri, auth_code=code, email=user.email)
