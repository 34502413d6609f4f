"""Search cursors: where a search continues, opaque to the caller and bound to the search it belongs to.

A cursor carries an upstream position (which target notebook, how many LabArchives matches are
behind). That number would tell how many withheld (out-of-scope) matches were skipped, so the
position is encrypted with a per-process key and authenticated together with the query, notebook
and limit: a cursor works only for its own search, on the server run that made it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct

from labmcp.errors import InvalidArgumentError


class CursorCodec:
    """Opaque search cursors: an upstream position, encrypted and authenticated with a per-process key.

    The position (which notebook, how many upstream matches are behind) would tell how many withheld
    matches were skipped, so it is never shown. A cursor is bound to its query, notebook and limit.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _stream(self, nonce: bytes) -> bytes:
        return hashlib.blake2b(nonce, key=self._key, digest_size=8, person=b"labmcp-cursor").digest()

    def _tag(self, body: bytes, binding: str) -> bytes:
        return hmac.new(self._key, body + binding.encode("utf-8", "surrogatepass"), "sha256").digest()[:12]

    def encode(self, binding: str, target: int, offset: int) -> str:
        nonce = secrets.token_bytes(8)
        plain = struct.pack(">II", target, offset)
        body = nonce + bytes(a ^ b for a, b in zip(plain, self._stream(nonce), strict=True))
        return base64.urlsafe_b64encode(body + self._tag(body, binding)).decode("ascii").rstrip("=")

    def decode(self, binding: str, cursor: str) -> tuple[int, int]:
        """The position of a cursor this process made for the same search; else InvalidArgumentError."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except ValueError:
            raw = b""
        body, tag = raw[:16], raw[16:]
        if len(raw) != 28 or not hmac.compare_digest(tag, self._tag(body, binding)):
            raise InvalidArgumentError(
                "cursor is not valid for this search (it belongs to another query, notebook or limit, or to "
                "an earlier server run); search again without a cursor"
            )
        plain = bytes(a ^ b for a, b in zip(body[8:], self._stream(body[:8]), strict=True))
        target, offset = struct.unpack(">II", plain)
        return target, offset
