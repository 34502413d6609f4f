"""A notebook service over the real client and the demo fake on loopback, and a finder for its attachments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from labmcp.config import HTTPSettings, LogSettings, OutputSettings, ScopeSettings, Settings
from labmcp.fake import FakeLabArchives
from labmcp.labarchives.client import open_client
from labmcp.labarchives.models import PART_ATTACHMENT
from labmcp.notebook.service import NotebookService
from labmcp.observe import NullObserver
from labmcp.runner import build_service
from tests.conftest import client_settings


@asynccontextmanager
async def demo_service(
    fake: FakeLabArchives, scope: ScopeSettings | None = None, max_calls: int = 100, **output: Any
) -> AsyncIterator[NotebookService]:
    """The service the server would build for the demo user, with default settings unless overridden
    (``max_calls``: LabArchives calls per request)."""
    labarchives = client_settings(fake, max_calls_per_request=max_calls)
    settings = Settings(labarchives, scope or ScopeSettings(), LogSettings(), HTTPSettings(), OutputSettings(**output))
    async with open_client(labarchives, NullObserver()) as client:
        yield await build_service(settings, labarchives, client)


async def find_files(service: NotebookService) -> dict[str, tuple[str, str, str]]:
    """file name -> (notebook id, page id, entry id) of every attachment in scope."""
    found: dict[str, tuple[str, str, str]] = {}
    for nb in service.scope.notebooks:
        listing = await service.browse(nb.id, None, depth=5)
        for item in listing.structured["items"]:
            if item["kind"] != "page":
                continue
            read = await service.read_page(nb.id, item["id"])
            for entry in read.structured["entries"]:
                if entry["part_type"] == PART_ATTACHMENT and entry["filename"]:
                    found[entry["filename"]] = (nb.id, item["id"], entry["entry_id"])
    return found
