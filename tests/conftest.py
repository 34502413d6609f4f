"""Shared fixtures: the demo fake LabArchives served over real loopback HTTP in the test's trio loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from labmcp.config import LabArchivesSettings
from labmcp.fake import FakeLabArchives


@pytest.fixture
async def fake(nursery: trio.Nursery) -> AsyncIterator[FakeLabArchives]:
    """A fresh demo fake on 127.0.0.1 with an ephemeral port; its request log starts empty."""
    server = FakeLabArchives.demo()
    await nursery.start(server.serve)
    yield server


def client_settings(fake: FakeLabArchives, **overrides: object) -> LabArchivesSettings:
    """Settings that reach the fake as its demo user, with pacing off unless overridden."""
    creds = fake.credentials
    base: dict[str, object] = {
        "api_base": fake.base_url,
        "akid": creds.akid,
        "secret": creds.secret,
        "uid": None,
        "user": creds.email,
        "token": creds.token,
        "request_interval": 0.0,
        "retry_backoff": 0.01,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
    }
    base.update(overrides)
    return LabArchivesSettings(**base)  # type: ignore[arg-type]
