"""Sealed tokens: what opens, what does not, and rotation (no server, no clock but the ring's)."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labmcp.auth.seal import KeyRing
from labmcp.config import TokenKey

OLD = TokenKey("old", os.urandom(32))
NEW = TokenKey("new", os.urandom(32))
CLAIMS = {"u": "285489257Ho's9^Lt", "a": "https://mcp.example.edu/mcp", "s": ["notebooks:read"]}


def test_a_sealed_token_opens_for_its_purpose_only_and_hides_its_claims() -> None:
    ring = KeyRing((NEW,))
    token = ring.seal("access", CLAIMS, ttl=60)
    assert token.startswith("new.") and "285489257" not in token and "mcp.example" not in token
    opened = ring.open("access", token)
    assert opened is not None and {k: opened[k] for k in CLAIMS} == CLAIMS
    assert ring.open("refresh", token) is None and ring.open("code", token) is None


def test_expiry_is_enforced_on_the_rings_clock() -> None:
    now = [1_000.0]
    ring = KeyRing((NEW,), clock=lambda: now[0])
    token = ring.seal("code", CLAIMS, ttl=120)
    now[0] += 119
    assert ring.open("code", token) is not None
    now[0] += 1
    assert ring.open("code", token) is None


def test_rotation_new_key_seals_old_key_still_opens_until_removed() -> None:
    before = KeyRing((OLD,)).seal("refresh", CLAIMS)
    rotated = KeyRing((NEW, OLD))
    assert rotated.open("refresh", before) is not None
    assert rotated.seal("refresh", CLAIMS).startswith("new.")
    assert KeyRing((NEW,)).open("refresh", before) is None


def test_a_kid_cannot_be_swapped_onto_another_keys_token() -> None:
    ring = KeyRing((NEW, OLD))
    token = ring.seal("access", CLAIMS)
    assert ring.open("access", "old." + token.partition(".")[2]) is None
    assert ring.open("access", "nope." + token.partition(".")[2]) is None


@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw-_"))
def test_any_single_character_change_is_refused(position: int, replacement: str) -> None:
    ring = KeyRing((NEW,))
    token = ring.seal("access", CLAIMS)
    body_start = len("new.")
    index = body_start + position % (len(token) - body_start)
    if token[index] == replacement:
        return
    changed = token[:index] + replacement + token[index + 1 :]
    # base64url's last character may carry unused bits: equal bytes, so the same (valid) token.
    if base64.urlsafe_b64decode(changed[body_start:] + "==") == base64.urlsafe_b64decode(token[body_start:] + "=="):
        return
    assert ring.open("access", changed) is None


@pytest.mark.parametrize("junk", ["", ".", "new.", "new.!!!", "new." + "A" * 10, "x" * 9000, "new.ünïcode"])
def test_junk_is_refused_without_raising(junk: str) -> None:
    assert KeyRing((NEW,)).open("access", junk) is None


def test_client_secrets_derive_from_the_key_that_sealed_the_client() -> None:
    old_ring = KeyRing((OLD,))
    client_id = old_ring.seal("client", {"r": ["https://app.example/cb"]})
    secret = old_ring.client_secret(client_id)
    assert secret is not None and KeyRing((NEW, OLD)).client_secret(client_id) == secret
    assert KeyRing((NEW,)).client_secret(client_id) is None
