"""Who a request acts for: the signed-in user's uid, and the stable pseudonym logs may name.

The pseudonym is an HMAC of the uid under the akid's access password, so it is the same on every
replica and across token-key rotations, yet names no one to a reader of the logs (issue 15: "the
audit line names a stable pseudonym of the user").
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser

from labmcp.secret import Secret


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """The LabArchives uid a request acts for (secret) and its pseudonym (loggable)."""

    uid: str
    pseudonym: str

    def __repr__(self) -> str:
        return f"SignedInUser(pseudonym={self.pseudonym!r})"


class Pseudonyms:
    """Stable, unlinkable-without-the-key names for uids."""

    def __init__(self, key: Secret) -> None:
        self._key = hmac.new(key.reveal().encode(), b"labmcp user pseudonym", hashlib.sha256).digest()

    def of(self, uid: str) -> str:
        return "u-" + hmac.new(self._key, uid.encode(), hashlib.sha256).hexdigest()[:16]


def signed_in_user(request: object) -> SignedInUser | None:
    """The user of an HTTP request the bearer middleware authenticated, else None.

    ``request`` is what the SDK hands a handler as ``ctx.request`` (a Starlette request on
    Streamable HTTP); anything else (stdio, in-process) has no signed-in user.
    """
    scope = getattr(request, "scope", None)
    user = scope.get("user") if isinstance(scope, dict) else None
    if not isinstance(user, AuthenticatedUser):
        return None
    token = user.access_token
    uid = getattr(token, "uid", None)
    if not isinstance(uid, str) or not uid or token.subject is None:
        return None
    return SignedInUser(uid, token.subject)
