"""Per-user services: one per uid, built once under concurrent first calls, bounded in number."""

from __future__ import annotations

from typing import Any

import pytest
import trio

from labmcp.auth.identity import Pseudonyms, SignedInUser
from labmcp.auth.provider import redirect_uri_allowed
from labmcp.auth.registry import UserServices
from labmcp.secret import Secret


def user(n: int) -> SignedInUser:
    return SignedInUser(f"uid-{n}", f"u-{n}")


async def test_each_user_gets_their_own_service_built_once_and_the_oldest_is_dropped() -> None:
    built: list[str] = []

    async def build(who: SignedInUser) -> Any:
        built.append(who.uid)
        await trio.sleep(0.01)
        return object()

    services = UserServices(build, max_users=2)
    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(services.service, user(1))
    assert built == ["uid-1"]
    first = await services.service(user(1))
    assert await services.service(user(2)) is not first
    await services.service(user(1))  # used again: user 2 is now the least recent
    await services.service(user(3))
    assert len(services) == 2
    assert await services.service(user(1)) is first
    await services.service(user(2))
    assert built == ["uid-1", "uid-2", "uid-3", "uid-2"]


async def test_a_failed_build_is_not_kept() -> None:
    calls = 0

    async def build(who: SignedInUser) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("LabArchives down")
        return object()

    services = UserServices(build, max_users=2)
    with pytest.raises(RuntimeError):
        await services.service(user(1))
    assert await services.service(user(1)) is not None and calls == 2


def test_pseudonyms_are_stable_per_key_and_reveal_nothing() -> None:
    names = Pseudonyms(Secret("institution-password"))
    assert names.of("285489257Ho's9^Lt") == names.of("285489257Ho's9^Lt")
    assert names.of("a") != names.of("b") and "285489257" not in names.of("285489257Ho's9^Lt")
    assert Pseudonyms(Secret("other")).of("a") != names.of("a")
    assert "uid" not in repr(SignedInUser("secret-uid", "u-1")) and "secret-uid" not in repr(
        SignedInUser("secret-uid", "u-1")
    )


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example/cb", True),
        ("http://127.0.0.1:33418/callback", True),
        ("http://localhost/cb", True),
        ("http://[::1]:8080/cb", True),
        ("com.example.app:/oauth", True),
        ("http://app.example/cb", False),
        ("https://app.example/cb#x", False),
        ("https://user@app.example/cb", False),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("file:///etc/passwd", False),
        ("https:///nohost", False),
        ("https://app.example/" + "a" * 600, False),
    ],
)
def test_redirect_uris_a_client_may_register(uri: str, ok: bool) -> None:
    assert redirect_uri_allowed(uri) is ok
