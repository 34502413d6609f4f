"""labmcp as its own OAuth authorization server, with no store: every artefact is a sealed token.

The SDK's handlers (``mcp.server.auth``) do the protocol work: metadata (RFC 8414, RFC 9728),
dynamic client registration (RFC 7591), the authorize request checks, PKCE S256 and the token
endpoint. This provider is what the SDK leaves to us, written stateless so any replica answers:

- a registered client's id *is* its sealed registration (redirect URIs, name, auth method), and
  its secret is an HMAC of that id, so ``get_client`` needs no database;
- ``authorize`` does not grant anything: it seals the request and sends the browser to our
  consent page (``labmcp.auth.flow``), which sends it on to LabArchives' own sign-in;
- authorization codes, access and refresh tokens are sealed claims: uid, audience (this
  server's resource URL), scopes, client and expiry.

Limits of being stateless, documented in README: a refresh token stays valid until it expires
(rotation issues a new one, it cannot retire the old one), and each replica remembers the codes it
redeemed, so a code replayed on *another* replica within its two-minute life is not caught there.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from typing import Any, Final
from urllib.parse import urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken

from labmcp.auth.identity import Pseudonyms
from labmcp.auth.seal import KeyRing
from labmcp.labarchives.regions import is_loopback_host

SCOPE: Final = "notebooks:read"
"""The one scope: read the signed-in user's notebooks within the server's scope settings."""
ACCESS_TTL: Final = 3600
REFRESH_TTL: Final = 14 * 24 * 3600
CODE_TTL: Final = 120
CONSENT_TTL: Final = 600
"""Seconds from the consent page to LabArchives' redirect back: the user types a password."""
REDEEMED_CAP: Final = 10_000
MAX_REDIRECT_URIS: Final = 8
MAX_URI_CHARS: Final = 512
MAX_CLIENT_NAME_CHARS: Final = 100
"""A registered client's name is kept to this many characters (the consent page shows at most 80)."""


class UserAccessToken(AccessToken):
    """An access token with the LabArchives uid it acts for (never shown to anyone)."""

    uid: str


class UserRefreshToken(RefreshToken):
    uid: str


class UserCode(AuthorizationCode):
    uid: str
    jti: str


def _same_resource(given: str, ours: str) -> bool:
    return given.rstrip("/") == ours.rstrip("/")


def redirect_uri_allowed(uri: str) -> bool:
    """https anywhere, http on loopback (RFC 8252 §7.3), or a private-use scheme with a dot
    (reverse domain name, RFC 8252 §7.1); never a fragment, userinfo or a script scheme."""
    if len(uri) > MAX_URI_CHARS:
        return False
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if parts.fragment or "@" in parts.netloc:
        return False
    if scheme == "https":
        return bool(parts.hostname)
    if scheme == "http":
        return parts.hostname is not None and is_loopback_host(parts.hostname)
    return "." in scheme and scheme not in ("javascript", "data", "file", "vbscript")


class StatelessProvider:
    """The SDK's ``OAuthAuthorizationServerProvider`` over a key ring; see the module docstring."""

    def __init__(self, keys: KeyRing, pseudonyms: Pseudonyms, public_url: str, resource_url: str) -> None:
        self.keys = keys
        self._pseudonyms = pseudonyms
        self._public_url = public_url
        self.resource_url = resource_url
        self._redeemed: OrderedDict[str, float] = OrderedDict()

    # --- clients -------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        claims = self.keys.open("client", client_id)
        if claims is None:
            return None
        return OAuthClientInformationFull(
            client_id=client_id,
            client_secret=self.keys.client_secret(client_id) if claims["m"] != "none" else None,
            client_secret_expires_at=0 if claims["m"] != "none" else None,
            client_id_issued_at=claims["t"],
            redirect_uris=claims["r"],
            token_endpoint_auth_method=claims["m"],
            grant_types=claims["g"],
            response_types=["code"],
            scope=claims["s"],
            client_name=claims.get("n"),
        )

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        """Replace the SDK's random id and secret with the sealed registration and its derived secret."""
        uris = [str(u) for u in client_info.redirect_uris or []]
        if not uris or len(uris) > MAX_REDIRECT_URIS or not all(redirect_uri_allowed(u) for u in uris):
            raise RegistrationError(
                "invalid_redirect_uri",
                "redirect URIs must be https, http on a loopback address, or a private-use scheme "
                f"(at most {MAX_REDIRECT_URIS}, {MAX_URI_CHARS} characters each, no fragment)",
            )
        method = client_info.token_endpoint_auth_method or "client_secret_post"
        claims: dict[str, Any] = {
            "r": uris,
            "m": method,
            "g": [g for g in client_info.grant_types if g in ("authorization_code", "refresh_token")],
            "s": client_info.scope or SCOPE,
            "t": client_info.client_id_issued_at or int(time.time()),
        }
        if client_info.client_name:
            claims["n"] = client_info.client_name[:MAX_CLIENT_NAME_CHARS]
        client_info.client_id = self.keys.seal("client", claims)
        client_info.grant_types = claims["g"]
        if method != "none":
            client_info.client_secret = self.keys.client_secret(client_info.client_id)

    # --- authorize: seal the request, hand the browser to the consent page ---------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        if params.resource is not None and not _same_resource(params.resource, self.resource_url):
            raise AuthorizeError("invalid_target", "this server is the resource " + self.resource_url)
        request = self.keys.seal(
            "consent",
            {
                "c": client.client_id,
                "r": str(params.redirect_uri),
                "x": params.redirect_uri_provided_explicitly,
                "ch": params.code_challenge,
                "s": params.scopes or [SCOPE],
                "st": params.state,
            },
            ttl=CONSENT_TTL,
        )
        return f"{self._public_url}/auth/consent?request={request}"

    def issue_code(self, consent: dict[str, Any], uid: str) -> str:
        """The authorization code for a consent whose user LabArchives identified as ``uid``."""
        claims = {k: consent[k] for k in ("c", "r", "x", "ch", "s")}
        claims.update(u=uid, j=secrets.token_urlsafe(12))
        return self.keys.seal("code", claims, ttl=CODE_TTL)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> UserCode | None:
        claims = self.keys.open("code", authorization_code)
        if claims is None or claims["c"] != client.client_id or claims["j"] in self._redeemed:
            return None
        return UserCode(
            code=authorization_code,
            scopes=claims["s"],
            expires_at=claims["exp"],
            client_id=claims["c"],
            code_challenge=claims["ch"],
            redirect_uri=claims["r"],
            redirect_uri_provided_explicitly=claims["x"],
            resource=self.resource_url,
            uid=claims["u"],
            jti=claims["j"],
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: UserCode
    ) -> OAuthToken:
        now = time.time()
        while self._redeemed and (next(iter(self._redeemed.values())) <= now or len(self._redeemed) >= REDEEMED_CAP):
            self._redeemed.popitem(last=False)
        if authorization_code.jti in self._redeemed:
            raise TokenError("invalid_grant", "authorization code was already used")
        self._redeemed[authorization_code.jti] = authorization_code.expires_at
        return self._tokens(client.client_id, authorization_code.uid, authorization_code.scopes)

    # --- refresh and access tokens ----------------------------------------------------------------

    def _tokens(self, client_id: str, uid: str, scopes: list[str]) -> OAuthToken:
        claims = {"u": uid, "a": self.resource_url, "s": scopes, "c": client_id}
        return OAuthToken(
            access_token=self.keys.seal("access", claims, ttl=ACCESS_TTL),
            token_type="Bearer",  # noqa: S106  # the token type, not a password
            expires_in=ACCESS_TTL,
            scope=" ".join(scopes),
            refresh_token=self.keys.seal("refresh", claims, ttl=REFRESH_TTL),
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> UserRefreshToken | None:
        claims = self.keys.open("refresh", refresh_token)
        if claims is None or claims["c"] != client.client_id or not _same_resource(claims["a"], self.resource_url):
            return None
        return UserRefreshToken(
            token=refresh_token,
            client_id=claims["c"],
            scopes=claims["s"],
            expires_at=claims["exp"],
            resource=claims["a"],
            uid=claims["u"],
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: UserRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        return self._tokens(client.client_id, refresh_token.uid, scopes)

    async def load_access_token(self, token: str) -> UserAccessToken | None:
        """A valid access token for this resource, else None (the SDK answers 401, no detail)."""
        claims = self.keys.open("access", token)
        if claims is None or not _same_resource(claims["a"], self.resource_url):
            return None
        return UserAccessToken(
            token=token,
            client_id=claims["c"],
            scopes=claims["s"],
            expires_at=claims["exp"],
            resource=claims["a"],
            subject=self._pseudonyms.of(claims["u"]),
            uid=claims["u"],
        )

    async def revoke_token(self, token: UserAccessToken | UserRefreshToken) -> None:
        """Not offered (the revocation endpoint is off): a sealed token lives until it expires."""

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: object) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported")

    async def verify_token(self, token: str) -> UserAccessToken | None:
        """The SDK's ``TokenVerifier``: the bearer middleware calls this on every MCP request."""
        return await self.load_access_token(token)
