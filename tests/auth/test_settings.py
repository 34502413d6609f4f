"""OAuth-mode settings: the contract's names, what they require, and what they refuse."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from labmcp.config import load
from labmcp.errors import ConfigError


def keys_file(tmp_path: Path, text: str | None = None) -> str:
    path = tmp_path / ("keys" if text is None else "bad-keys")
    path.write_text(
        text
        if text is not None
        else f"a={base64.b64encode(os.urandom(32)).decode()}\n# old\nb={base64.b64encode(os.urandom(32)).decode()}\n"
    )
    return str(path)


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "LABARCHIVES_AKID": "ak",
        "LABARCHIVES_SECRET": "pw",
        "LABMCP_TRANSPORT": "http",
        "LABMCP_AUTH": "oauth",
        "LABMCP_PUBLIC_URL": "https://mcp.example.edu/",
        "LABMCP_TOKEN_KEYS_FILE": keys_file(tmp_path),
        **extra,
    }


def test_oauth_mode_reads_the_contract_settings(tmp_path: Path) -> None:
    settings = load([], env(tmp_path, LABMCP_STATELESS="true", LABMCP_REPLICAS="4"))
    auth = settings.auth
    assert auth.mode == "oauth" and settings.http.stateless and auth.replicas == 4
    assert auth.public_url == "https://mcp.example.edu" and auth.resource_url == "https://mcp.example.edu/mcp"
    assert [k.kid for k in auth.keys] == ["a", "b"] and all(len(k.material) == 32 for k in auth.keys)
    assert "material" not in repr(auth) and settings.labarchives.uid is None
    # Off loopback without a static token: fine in oauth mode (every request carries a user's token).
    assert load(["--host", "0.0.0.0"], env(tmp_path)).http.host == "0.0.0.0"


def test_flags_match_the_env_vars(tmp_path: Path) -> None:
    argv = [
        "--auth",
        "oauth",
        "--public-url",
        "http://127.0.0.1:9000",
        "--token-keys-file",
        keys_file(tmp_path),
        "--stateless",
    ]
    settings = load(argv, {"LABARCHIVES_AKID": "ak", "LABARCHIVES_SECRET": "pw", "LABMCP_TRANSPORT": "http"})
    assert settings.auth.public_url == "http://127.0.0.1:9000" and settings.http.stateless


def test_static_mode_is_unchanged_by_default(tmp_path: Path) -> None:
    settings = load([], {"LABARCHIVES_AKID": "ak", "LABARCHIVES_SECRET": "pw", "LABARCHIVES_UID": "u"})
    assert settings.auth.mode == "static" and not settings.http.stateless and settings.auth.keys == ()


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"LABMCP_AUTH": "saml"}, "static or oauth"),
        ({"LABMCP_TRANSPORT": "stdio"}, "LABMCP_TRANSPORT=http"),
        ({"LABMCP_PUBLIC_URL": ""}, "LABMCP_PUBLIC_URL"),
        ({"LABMCP_PUBLIC_URL": "http://mcp.example.edu"}, "https"),
        ({"LABMCP_PUBLIC_URL": "https://mcp.example.edu/sub"}, "no path"),
        ({"LABMCP_PUBLIC_URL": "https://mcp.example.edu?x=1"}, "no path"),
        ({"LABMCP_TOKEN_KEYS_FILE": ""}, "LABMCP_TOKEN_KEYS_FILE"),
        ({"LABMCP_TOKEN_KEYS_FILE": "/nonexistent/keys"}, "cannot read"),
        ({"LABARCHIVES_UID": "u"}, "signs each user in"),
        ({"LABARCHIVES_USER": "a@b", "LABARCHIVES_TOKEN": "t"}, "signs each user in"),
        ({"LABMCP_HTTP_TOKEN": "t"}, "LABMCP_HTTP_TOKEN"),
        ({"LABMCP_DEMO": "true"}, "demo"),
    ],
)
def test_oauth_mode_refuses_incomplete_or_mixed_settings(tmp_path: Path, change: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load([], {**env(tmp_path), **change})


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no keys"),
        ("# only a comment\n", "no keys"),
        ("a=" + base64.b64encode(b"short").decode(), "exactly 32 bytes"),
        ("a=not base64!!", "exactly 32 bytes"),
        ("=" + base64.b64encode(bytes(32)).decode(), "kid="),
        ("a b=" + base64.b64encode(bytes(32)).decode(), "kid="),
        ("a=" + base64.b64encode(bytes(32)).decode() + "\na=" + base64.b64encode(bytes(32)).decode(), "twice"),
    ],
)
def test_bad_key_files_are_refused_without_echoing_key_material(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as caught:
        load([], env(tmp_path, LABMCP_TOKEN_KEYS_FILE=keys_file(tmp_path, text)))
    assert "AAAAAAAA" not in str(caught.value) and "not base64" not in str(caught.value)
