"""The browser part of the sign-in: our consent page, then LabArchives' own login, then back.

    client --/authorize--> SDK handler --(provider.authorize)--> GET /auth/consent (our page)
    POST /auth/consent (approve + CSRF) --303--> <LabArchives>/api_user_login (signed, §2.5 A)
    LabArchives --302--> GET /auth/callback/<sealed state>?auth_code=..&email=..
    callback: users/user_access_info(email, auth_code) -> uid -> sealed code --302--> client

Why a consent page of our own: a browser already signed in to LabArchives would hand a code to
any registered client without a click (the confused deputy of the MCP security guidance). The
CSRF token is bound to a cookie set with the page (SameSite=Strict), so another site cannot
post the form on the user's behalf. The state rides in the callback's path, not its query,
because LabArchives appends its own query to ``redirect_uri``.

Every failure ends on a page with one clear sentence (before the client's redirect URI is
proven) or as an OAuth error sent to that URI (after), never a stack trace or a secret.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from labmcp.auth.identity import Pseudonyms
from labmcp.auth.pages import consent_page, error_page, shown
from labmcp.auth.provider import CONSENT_TTL, StatelessProvider
from labmcp.digits import is_digits
from labmcp.errors import AuthenticationError, LabArchivesError
from labmcp.labarchives.models import User
from labmcp.labarchives.signing import signature
from labmcp.secret import Secret

audit_log = logging.getLogger("labmcp.audit")
log = logging.getLogger("labmcp.auth")

CSRF_COOKIE = "labmcp_csrf"
LOGIN_EXPIRES_MS = 60_000
"""``expires`` of the signed login URL: now + 60 s, as the browser follows the redirect at once."""
MAX_FORM_BYTES = 16 * 1024


class SignInUpstream(Protocol):
    """What the flow needs from LabArchives: the synced clock and the code redemption (§2.4, §2.5)."""

    @property
    def clock_offset_ms(self) -> int: ...

    async def user_access_info(self, email_address: str, token: Secret) -> User: ...


def login_url(api_base: str, akid: str, password: str, redirect_uri: str, expires_ms: int) -> str:
    """LabArchives' browser sign-in URL: ``api_user_login`` beside ``/api``, signed over the raw
    ``redirect_uri`` instead of a method name (§2.2 [DOC], as labapi and ArchiveFlow do)."""
    root = api_base.rstrip("/").removesuffix("/api")
    sig = signature(akid, redirect_uri, expires_ms, password)
    return (
        f"{root}/api_user_login?akid={quote(akid, safe='')}&expires={expires_ms}"
        f"&redirect_uri={quote(redirect_uri, safe='')}&sig={quote(sig, safe='')}"
    )


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class SignInFlow:
    """The consent and callback endpoints over the provider, the upstream and the clock."""

    def __init__(
        self,
        provider: StatelessProvider,
        upstream: SignInUpstream,
        pseudonyms: Pseudonyms,
        *,
        server_name: str,
        public_url: str,
        api_base: str,
        akid: str,
        secret: Secret,
        wall_ms: Callable[[], int],
    ) -> None:
        self._provider = provider
        self._keys = provider.keys
        self._upstream = upstream
        self._pseudonyms = pseudonyms
        self._server_name = server_name
        self._public_url = public_url
        self._api_base = api_base
        self._akid = akid
        self._secret = secret
        self._wall_ms = wall_ms
        self._secure = public_url.startswith("https://")

    def routes(self) -> list[Route]:
        return [
            Route("/auth/consent", self.consent, methods=["GET", "POST"]),
            Route("/auth/callback/{state}", self.callback, methods=["GET"]),
        ]

    # --- consent ----------------------------------------------------------------------------------

    async def consent(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._decide(request)
        sealed = request.query_params.get("request", "")
        consent = self._keys.open("consent", sealed)
        client = await self._provider.get_client(consent["c"]) if consent else None
        if consent is None or client is None:
            return error_page("This sign-in link is invalid or has expired.")
        nonce = secrets.token_urlsafe(24)
        csrf = self._keys.seal("csrf", {"n": nonce, "q": _digest(sealed)}, ttl=CONSENT_TTL)
        cookie = f"{CSRF_COOKIE}={nonce}; Path=/auth; Max-Age={CONSENT_TTL}; HttpOnly; SameSite=Strict" + (
            "; Secure" if self._secure else ""
        )
        target = urlsplit(consent["r"])
        where = target.netloc or f"{target.scheme}:"
        return consent_page(
            server=self._server_name,
            client_name=client.client_name or "An unnamed MCP client",
            redirect_host=where,
            request=sealed,
            csrf=csrf,
            headers={"Set-Cookie": cookie},
        )

    async def _decide(self, request: Request) -> Response:
        length = request.headers.get("content-length", "")
        if not is_digits(length) or int(length) > MAX_FORM_BYTES:
            return error_page("The form could not be read.", 413)
        form = await request.form()
        sealed, csrf = str(form.get("request", "")), str(form.get("csrf", ""))
        consent = self._keys.open("consent", sealed)
        check = self._keys.open("csrf", csrf)
        if (
            consent is None
            or check is None
            or check.get("q") != _digest(sealed)
            or not self._same_browser(request, check)
        ):
            return error_page("This form could not be verified (it expired, or came from another page).", 403)
        if "approve" not in form:
            return self._to_client(consent, error="access_denied", error_description="the user denied access")
        state = self._keys.seal("login", consent, ttl=CONSENT_TTL)
        callback = f"{self._public_url}/auth/callback/{state}"
        expires = self._wall_ms() + self._upstream.clock_offset_ms + LOGIN_EXPIRES_MS
        url = login_url(self._api_base, self._akid, self._secret.reveal(), callback, expires)
        response = RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
        response.delete_cookie(CSRF_COOKIE, path="/auth")
        return response

    def _same_browser(self, request: Request, check: dict[str, Any]) -> bool:
        """Whether the POST comes from the browser our page was shown to, not from another site.

        The cookie set with the page proves it. Without the cookie, a browser still names the page
        a form was posted from (``Origin``; every current browser sends it on POST, ``null`` when
        hidden): only our own origin is accepted then. A client that sends neither cookie nor
        ``Origin`` is not a browser, so it carries no one's LabArchives session to abuse.
        """
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie is not None:
            return secrets.compare_digest(str(check.get("n", "")), cookie)
        origin = request.headers.get("origin")
        return origin is None or origin.rstrip("/").lower() == self._public_url.lower()

    # --- LabArchives' redirect back -----------------------------------------------------------------

    async def callback(self, request: Request) -> Response:
        consent = self._keys.open("login", request.path_params.get("state", ""))
        if consent is None:
            return error_page("This sign-in has expired or its link was changed. Nothing was granted.")
        query = request.query_params
        code, email = query.get("auth_code", ""), query.get("email", "")
        if query.get("error") or not code or not email:
            return self._to_client(
                consent, error="access_denied", error_description="the sign-in at LabArchives was cancelled or refused"
            )
        try:
            user = await self._upstream.user_access_info(email, Secret(code))
        except AuthenticationError:
            return self._to_client(
                consent,
                error="access_denied",
                error_description="LabArchives did not accept the sign-in (the code was used or expired)",
            )
        except LabArchivesError as exc:
            log.warning("sign-in could not reach LabArchives: %s", exc)
            return self._to_client(
                consent, error="temporarily_unavailable", error_description="LabArchives could not be reached"
            )
        client = await self._provider.get_client(consent["c"])
        name = (client.client_name if client else "") or "-"
        audit_log.info("sign-in user=%s client=%s", self._pseudonyms.of(user.uid), shown(name))
        return self._to_client(consent, code=self._provider.issue_code(consent, user.uid))

    def _to_client(self, consent: dict[str, Any], **params: str) -> Response:
        """Redirect to the client's proven redirect URI with ``params`` and its ``state``."""
        url = construct_redirect_uri(consent["r"], **params, state=consent.get("st"))
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
