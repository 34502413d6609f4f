"""Sealed tokens: JSON claims encrypted and authenticated with AES-256-GCM under a key id.

A sealed value is ``<kid>.<base64url(nonce || ciphertext+tag)>``. The associated data binds the
purpose (``access``, ``refresh``, ``code``, ``client``, ``consent``, ``login``) and the kid, so a
refresh token can never be presented as an access token, nor a consent state as a code. Any
replica holding the key file opens any token: no shared store (issue 15, "stateless tokens").

Why AES-GCM from ``cryptography``: it is already in the dependency tree (``mcp`` requires
``pyjwt[crypto]``), it is the AEAD every platform wheel carries, and a 96-bit random nonce per
seal is safe far beyond the number of tokens one key will ever seal (rotate keys yearly).
``open`` answers None for anything wrong (unknown kid, tampering, wrong purpose, expiry, bad
JSON) and never says which, so a caller cannot learn anything by probing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from labmcp.config import TokenKey

NONCE_BYTES: Final = 12
MAX_SEALED_CHARS: Final = 8192
"""Longer input is refused before decoding: no token we seal comes near it."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyRing:
    """The token keys: the first seals, all open. ``clock`` gives epoch seconds (tests move it)."""

    def __init__(self, keys: tuple[TokenKey, ...], clock: Callable[[], float] = time.time) -> None:
        if not keys:
            raise ValueError("a key ring needs at least one key")
        self._sealing = keys[0]
        self._ciphers = {k.kid: AESGCM(k.material) for k in keys}
        # A separate subkey for MACs (client secrets), so no key serves two algorithms.
        self._mac_keys = {k.kid: hmac.new(k.material, b"labmcp client secret", hashlib.sha256).digest() for k in keys}
        self.clock = clock

    @property
    def sealing_kid(self) -> str:
        return self._sealing.kid

    def seal(self, purpose: str, claims: Mapping[str, Any], ttl: float | None = None) -> str:
        """Encrypt ``claims`` for ``purpose``; with ``ttl`` (seconds) an ``exp`` claim is added."""
        body = dict(claims)
        if ttl is not None:
            body["exp"] = int(self.clock() + ttl)
        kid = self._sealing.kid
        nonce = os.urandom(NONCE_BYTES)
        data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
        sealed = self._ciphers[kid].encrypt(nonce, data, f"labmcp/{purpose}/{kid}".encode())
        return f"{kid}.{_b64e(nonce + sealed)}"

    def open(self, purpose: str, token: str) -> dict[str, Any] | None:
        """The claims of a token sealed for ``purpose`` by any key of the ring, unexpired; else None."""
        if not token or len(token) > MAX_SEALED_CHARS or not token.isascii():
            return None
        kid, dot, payload = token.partition(".")
        cipher = self._ciphers.get(kid)
        if not dot or cipher is None:
            return None
        try:
            raw = _b64d(payload)
            if len(raw) <= NONCE_BYTES:
                return None
            data = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], f"labmcp/{purpose}/{kid}".encode())
            claims = json.loads(data)
        except (InvalidTag, ValueError, binascii.Error):
            return None
        if not isinstance(claims, dict):
            return None
        exp = claims.get("exp")
        if exp is not None and (not isinstance(exp, int) or exp <= self.clock()):
            return None
        return claims

    def client_secret(self, client_id: str) -> str | None:
        """The secret of a registered client, derived from its sealed id under the key that sealed it,
        so there is nothing to store and rotation keeps it valid while that key stays in the ring."""
        mac_key = self._mac_keys.get(client_id.partition(".")[0])
        if mac_key is None:
            return None
        return hmac.new(mac_key, client_id.encode(), hashlib.sha256).hexdigest()
