"""Shared fixtures: the demo fake LabArchives served over real loopback HTTP in the test's trio loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio
from hypothesis import settings

from labmcp.config import LabArchivesSettings
from labmcp.fake import FakeLabArchives

# Property tests are bounded by their number of examples, never by the clock: hypothesis' default
# 200 ms deadline per example fails a test on a slow or busy machine (a 130 KB document parsed in
# six encodings, a 2,000-cell table), which the project's rule forbids. Tests keep their own
# max_examples; only the deadline goes, here, once.
settings.register_profile("labmcp", deadline=None)
settings.load_profile("labmcp")


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
