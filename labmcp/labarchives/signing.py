"""The LabArchives call signature (§2.2), pure and pinned by the official test vector (§2.3).

Shared by the client and the fake server on purpose: both must agree with the vector, and the
vector test guards both.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Literal
from urllib.parse import quote

HashName = Literal["sha512", "sha1"]


def signature(akid: str, method: str, expires: str | int, password: str, *, hash_name: HashName = "sha512") -> str:
    """Return ``Base64(HMAC(password, akid + method + expires))``, not yet URL-encoded.

    ``method`` is the method name only (``entry_attachment``, never ``entries/entry_attachment``);
    for ``api_user_login`` it is the raw redirect URI (§2.2).
    """
    message = f"{akid}{method}{expires}".encode()
    digest = hmac.new(password.encode(), message, getattr(hashlib, hash_name)).digest()
    return base64.b64encode(digest).decode("ascii")


def encode_once(value: str) -> str:
    """Percent-encode a query value exactly once (``+`` ``/`` ``=`` included), as the sig requires."""
    return quote(value, safe="")
