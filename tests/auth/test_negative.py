"""OAuth mode refuses what it must, with the right status and nothing to learn from the answer.

A real server process and the institution fake; the client side is plain httpx speaking the
protocol by hand (registration, PKCE, token requests), so each request can be bent one way.
Hostile tokens are made with the same key material the server holds (wrong audience, expired) or by
editing a real token (tampered, unknown kid, another purpose).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import trio

from labmcp.auth.seal import KeyRing
from labmcp.config import TokenKey
from labmcp.fake import FakeLabArchives
from tests.auth.support import REDIRECT_URI, Browser, browser_for, free_port, oauth_env, replica, write_keys

pytestmark = pytest.mark.slow

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@dataclass
class Server:
    url: str
    keys: Path
    http: httpx.AsyncClient

    async def register(self, redirect_uris: list[str] | None = None) -> dict[str, Any]:
        body = {
            "client_name": "neg",
            "redirect_uris": redirect_uris or [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
        }
        response = await self.http.post(self.url + "/register", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def authorize_url(self, client_id: str, challenge: str, **extra: str) -> str:
        params = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "state": "st-123",
            **extra,
        }
        return f"{self.url}/authorize?{urlencode(params)}"

    async def code(self, client_id: str, browser: Browser | None = None) -> tuple[str, str]:
        """A fresh authorization code and its PKCE verifier, through the consent and login pages."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
        result = await (browser or browser_for(0)).code_for(self.authorize_url(client_id, challenge))
        assert result.state == "st-123"
        return result.code, verifier

    async def token(self, **form: str) -> httpx.Response:
        return await self.http.post(self.url + "/token", data=form)

    async def mcp(self, token: str | None) -> httpx.Response:
        headers = dict(MCP_HEADERS)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return await self.http.post(self.url + "/mcp", json=INITIALIZE, headers=headers)


@asynccontextmanager
async def server(fake: FakeLabArchives, tmp_path: Path) -> AsyncIterator[Server]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    keys = write_keys(tmp_path / "keys", "k1")
    async with replica(oauth_env(fake, keys, url), port), httpx.AsyncClient(timeout=30) as http:
        yield Server(url, keys, http)


def ring(keys: Path, clock: Any = None) -> KeyRing:
    """The server's own key material, read back from its key file, for forging tokens."""
    kid, _, material = keys.read_text().splitlines()[0].partition("=")
    return KeyRing((TokenKey(kid, base64.b64decode(material)),), **({"clock": clock} if clock else {}))


def assert_plain_401(response: httpx.Response, *secrets_: str) -> None:
    assert response.status_code == 401
    assert "resource_metadata=" in response.headers["www-authenticate"]
    for secret in secrets_:
        assert secret not in response.text and secret not in response.headers["www-authenticate"]


async def test_discovery_metadata_and_the_401_challenge(institution_fake: FakeLabArchives, tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with server(institution_fake, tmp_path) as s:
            challenge = await s.mcp(None)
            assert_plain_401(challenge)
            prm = (await s.http.get(s.url + "/.well-known/oauth-protected-resource/mcp")).json()
            assert prm["resource"] == s.url + "/mcp" and prm["authorization_servers"] == [s.url]
            meta = (await s.http.get(s.url + "/.well-known/oauth-authorization-server")).json()
            assert meta["issuer"] == s.url and meta["code_challenge_methods_supported"] == ["S256"]
            assert {"authorization_code", "refresh_token"} <= set(meta["grant_types_supported"])
            assert meta["registration_endpoint"] == s.url + "/register"
            assert "revocation_endpoint" not in meta


async def test_bad_tokens_are_all_the_same_401(institution_fake: FakeLabArchives, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with server(institution_fake, tmp_path) as s:
            client = await s.register()
            code, verifier = await s.code(client["client_id"])
            tokens = (await s.token(grant_type="authorization_code", code=code, code_verifier=verifier,
                                    client_id=client["client_id"], redirect_uri=REDIRECT_URI)).json()  # fmt: skip
            access, refresh = tokens["access_token"], tokens["refresh_token"]
            assert (await s.mcp(access)).status_code == 200
            kid, _, payload = access.partition(".")
            flipped = payload[:10] + ("A" if payload[10] != "A" else "B") + payload[11:]
            claims = ring(s.keys).open("access", access)
            assert claims is not None
            other_audience = ring(s.keys).seal("access", {**claims, "a": "https://elsewhere.example/mcp"}, ttl=600)
            expired = ring(s.keys, clock=lambda: 1_000_000.0).seal("access", claims, ttl=60)
            bad = {
                "tampered": f"{kid}.{flipped}",
                "unknown kid": f"zz.{payload}",
                "wrong audience": other_audience,
                "expired": expired,
                "refresh token as access token": refresh,
                "truncated": access[:-5],
                "garbage": "x" * 40,
            }
            answers = {}
            for name, token in bad.items():
                response = await s.mcp(token)
                assert_plain_401(response, token, claims["u"])
                answers[name] = (response.text, response.headers["www-authenticate"])
            assert len(set(answers.values())) == 1, answers  # nothing tells one failure from another


async def test_pkce_mismatch_reused_code_and_foreign_client_are_invalid_grant(
    institution_fake: FakeLabArchives, tmp_path: Path
) -> None:
    with trio.fail_after(120):
        async with server(institution_fake, tmp_path) as s:
            client, other = await s.register(), await s.register()
            code, verifier = await s.code(client["client_id"])
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client["client_id"],
                "redirect_uri": REDIRECT_URI,
            }
            wrong = await s.token(**form, code_verifier=secrets.token_urlsafe(48))
            assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
            foreign = await s.token(**{**form, "client_id": other["client_id"]}, code_verifier=verifier)
            assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_grant"
            ok = await s.token(**form, code_verifier=verifier)
            assert ok.status_code == 200 and ok.json()["token_type"] == "Bearer"
            again = await s.token(**form, code_verifier=verifier)
            assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
            for response in (wrong, foreign, again):
                assert code not in response.text and verifier not in response.text
            refreshed = await s.token(
                grant_type="refresh_token", refresh_token=ok.json()["refresh_token"], client_id=other["client_id"]
            )
            assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


async def test_redirect_uris_are_never_an_open_redirect(institution_fake: FakeLabArchives, tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with server(institution_fake, tmp_path) as s:
            for uri in ("javascript:alert(1)", "http://evil.example/cb", "https://good.example@evil.example/cb",
                        "https://evil.example/cb#frag", "data:text/html,hi"):  # fmt: skip
                refused = await s.http.post(s.url + "/register", json={"redirect_uris": [uri], "client_name": "x"})
                assert refused.status_code == 400 and "location" not in refused.headers, uri
            client = await s.register()
            challenge = "A" * 43
            for uri in ("https://evil.example/cb", REDIRECT_URI + "/../../evil", "http://127.0.0.1:1/callbackx"):
                response = await s.http.get(s.authorize_url(client["client_id"], challenge, redirect_uri=uri))
                assert response.status_code == 400 and "location" not in response.headers, uri
            unknown = await s.http.get(s.authorize_url("k1.not-a-client", challenge))
            assert unknown.status_code == 400 and "location" not in unknown.headers
            for path in ("/auth/consent?request=k1.garbage", "/auth/callback/k1.garbage?auth_code=x&email=y",
                         "/auth/callback/zz.x?error=access_denied"):  # fmt: skip
                page = await s.http.get(s.url + path)
                assert page.status_code == 400 and "location" not in page.headers
                assert "<form" not in page.text and "Traceback" not in page.text
            # Consent posted by another site (the browser names it in Origin; SameSite keeps the cookie
            # back), or with a cookie of another page: refused. From our own origin it goes on.
            browser = browser_for(0)
            consent = await browser.http.get(s.authorize_url(client["client_id"], challenge), follow_redirects=True)
            assert consent.status_code == 200 and 'name="approve"' in consent.text
            cookies = dict(browser.http.cookies)
            browser.http.cookies.clear()
            for origin in ("https://evil.example", "null"):
                forged = await browser.submit(consent, "approve", headers={"Origin": origin})
                assert forged.status_code == 403 and "location" not in forged.headers
            browser.http.cookies.set("labmcp_csrf", "another-pages-nonce", path="/auth")
            forged = await browser.submit(consent, "approve", headers={"Origin": s.url})
            assert forged.status_code == 403
            browser.http.cookies.clear()
            for name, value in cookies.items():
                browser.http.cookies.set(name, value, path="/auth")
            ours = await browser.submit(consent, "approve", headers={"Origin": s.url})
            assert ours.status_code == 303 and "api_user_login" in ours.headers["location"]


def redirect_params(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return parse_qs(urlsplit(location).query)


async def test_deny_cancel_wrong_password_and_a_replayed_labarchives_code(
    institution_fake: FakeLabArchives, tmp_path: Path
) -> None:
    with trio.fail_after(120):
        async with server(institution_fake, tmp_path) as s:
            client = await s.register()
            url = s.authorize_url(client["client_id"], "B" * 43)
            denied = redirect_params(await Browser("alice@uni.example", "x", approve=False).authorize(url))
            assert denied["error"] == ["access_denied"] and denied["state"] == ["st-123"]
            cancelled = redirect_params(
                await Browser("alice@uni.example", "x", cancel_at_labarchives=True).authorize(url)
            )
            assert cancelled["error"] == ["access_denied"] and cancelled["state"] == ["st-123"]
            wrong = await Browser("alice@uni.example", "not-her-password").authorize(url)
            assert wrong.status_code == 200 and "incorrect" in wrong.text  # still on LabArchives' page
            browser = browser_for(0)
            assert "code" in redirect_params(await browser.authorize(url))
            callback = next(str(p.url) for p in browser.pages if "/auth/callback/" in str(p.url))
            replayed = redirect_params(await browser.http.get(callback))
            assert replayed["error"] == ["access_denied"] and "code" not in replayed


class _Text(HTMLParser):
    """The text a browser would draw: every data run, with the element it sits in."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.runs: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.runs.append((self.open[-1] if self.open else "", data))


async def test_a_client_name_with_bidi_and_invisible_characters_is_shown_written_out_and_capped(
    institution_fake: FakeLabArchives, tmp_path: Path
) -> None:
    """A registered name that would read as another app (RLO, isolates, zero-width, tags, separators)."""
    names = {
        "Claude\u202egnp.exe": "Claude[U+202E]gnp.exe",
        "\u2067Trusted\u2069 \u200bApp\ufeff": "[U+2067]Trusted[U+2069] [U+200B]App[U+FEFF]",
        "Lab\u2028Notes\u0000\U000e0041": "Lab[U+2028]Notes[U+0000][U+E0041]",
        "\u202d" * 5_000: None,
    }
    with trio.fail_after(120):
        async with server(institution_fake, tmp_path) as s:
            for name, expected in names.items():
                body = {"client_name": name, "redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "none"}
                registered = await s.http.post(s.url + "/register", json=body)
                assert registered.status_code == 201, registered.text
                page = await s.http.get(
                    s.authorize_url(registered.json()["client_id"], "A" * 43), follow_redirects=True
                )
                assert page.status_code == 200 and 'name="approve"' in page.text
                reader = _Text()
                reader.feed(page.text)
                drawn = "".join(data for _, data in reader.runs)
                hidden = [hex(ord(ch)) for ch in drawn if unicodedata.category(ch) in {"Cc", "Cf", "Zl", "Zp"}]
                assert hidden == [], hidden
                strong = next(data for tag, data in reader.runs if tag == "strong")
                assert len(strong) <= 80
                if expected is not None:
                    assert strong == expected
                else:
                    assert strong.startswith("[U+202D]") and strong.endswith("…")
