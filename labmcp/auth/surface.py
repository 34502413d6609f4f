"""Assemble OAuth mode: key ring, provider, sign-in flow and the options the SDK's HTTP app takes.

The SDK's ``streamable_http_app`` mounts its metadata, register, authorize and token routes for
our provider, puts its bearer middleware (with the audience check) in front of ``/mcp`` and
answers 401 with ``WWW-Authenticate: Bearer ... resource_metadata=...`` (RFC 9728 §5.1); we add
the consent and callback routes. The revocation endpoint stays off: sealed tokens cannot be
revoked without a shared store, and advertising it would promise what we cannot keep.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings as SDKAuthSettings
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions

from labmcp.auth.flow import SignInFlow, SignInUpstream
from labmcp.auth.identity import Pseudonyms
from labmcp.auth.provider import SCOPE, StatelessProvider
from labmcp.auth.seal import KeyRing
from labmcp.config import Settings

PATHS: Final = frozenset(
    {
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
        "/authorize",
        "/token",
        "/register",
        "/auth/consent",
    }
)


def serves(path: str) -> bool:
    """The paths OAuth mode answers besides ``/mcp``."""
    return path in PATHS or path.startswith("/auth/callback/")


class OAuthSurface:
    """Everything OAuth mode adds to the HTTP server, built from settings and the akid's client."""

    def __init__(self, settings: Settings, upstream: SignInUpstream) -> None:
        auth = settings.auth
        self.public_url = auth.public_url
        self.resource_url = auth.resource_url
        self.keys = KeyRing(auth.keys)
        self.pseudonyms = Pseudonyms(settings.labarchives.secret)
        self.provider = StatelessProvider(self.keys, self.pseudonyms, auth.public_url, auth.resource_url)
        self.flow = SignInFlow(
            self.provider,
            upstream,
            self.pseudonyms,
            server_name=settings.server_name,
            public_url=auth.public_url,
            api_base=settings.labarchives.api_base,
            akid=settings.labarchives.akid,
            secret=settings.labarchives.secret,
            wall_ms=lambda: time.time_ns() // 1_000_000,
        )

    @property
    def public_host(self) -> str:
        return urlsplit(self.public_url).netloc

    @property
    def challenge(self) -> bytes:
        """``WWW-Authenticate`` of a 401 on ``/mcp``: where the protected resource metadata is (RFC 9728 §5.1)."""
        metadata = f"{self.public_url}/.well-known/oauth-protected-resource/mcp"
        return f'Bearer error="invalid_token", resource_metadata="{metadata}", scope="{SCOPE}"'.encode()

    def principal(self, headers: Mapping[bytes, bytes]) -> str | None:
        """The session owner of a request: ``user:<pseudonym>`` of a valid access token, else None (401)."""
        scheme, _, credential = headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() != b"bearer":
            return None
        claims = self.keys.open("access", credential.strip().decode("latin-1"))
        if claims is None or claims.get("a") != self.resource_url:
            return None
        return "user:" + self.pseudonyms.of(claims["u"])

    def sdk_options(self) -> dict[str, Any]:
        """Keyword arguments for ``Server.streamable_http_app``."""
        return {
            # Strings, so the SDK's model keeps a path-less issuer without a trailing slash (RFC 8414 §3.3).
            "auth": SDKAuthSettings.model_validate(
                {
                    "issuer_url": self.public_url,
                    "resource_server_url": self.resource_url,
                    "required_scopes": [SCOPE],
                    "client_registration_options": ClientRegistrationOptions(
                        enabled=True, valid_scopes=[SCOPE], default_scopes=[SCOPE]
                    ),
                    "revocation_options": RevocationOptions(enabled=False),
                    "validate_token_resource": True,
                }
            ),
            "token_verifier": self.provider,
            "auth_server_provider": self.provider,
            "custom_starlette_routes": self.flow.routes(),
        }
