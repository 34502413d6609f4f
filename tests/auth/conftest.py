"""The institution fake (three researchers who sign in through ``api_user_login``), on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from labmcp.fake import FakeLabArchives


@pytest.fixture
async def institution_fake(nursery: trio.Nursery) -> AsyncIterator[FakeLabArchives]:
    server = FakeLabArchives.institution()
    await nursery.start(server.serve)
    yield server
