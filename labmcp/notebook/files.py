"""Attachment downloads, verified: one download per file version, checked against what it claims.

``Downloads.fetch(entry)`` is the one way the notebook layer gets an attachment's bytes. It asks
the source for ``entry_attachment`` capped at ``LABARCHIVES_MAX_DOWNLOAD_BYTES`` and keyed by
``(eid, version)``, so every text window of one file, the resource read after it and any
extraction on top reuse the same bytes while they stay in the byte-budgeted cache. The source
checks the size against the listing's ``attach-file-size`` and refuses an empty body before it
caches anything (a truncated or substituted body is not the file); here the type from the magic
numbers is reconciled with the declared type (``labarchives.filetype``), and a contradiction is
carried as ``problem``, so callers never inline it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from labmcp.errors import InvalidArgumentError
from labmcp.labarchives import filetype
from labmcp.labarchives.models import Download, Entry
from labmcp.notebook.render import format_size

NEVER_INLINE = frozenset({"image/svg+xml", "text/html", "application/xhtml+xml"})


class FileSource(Protocol):
    async def entry_attachment(
        self, eid: str, max_bytes: int, *, version: int | None = None, listed_size: int | None = None
    ) -> Download: ...


@dataclass(frozen=True, slots=True)
class VerifiedFile:
    """An attachment's bytes with the type they prove, cut at the download cap when ``truncated``."""

    data: bytes
    mime_type: str
    filename: str
    truncated: bool
    problem: str | None = None
    """A plain note when the bytes contradict the declared type; such a file is never inlined."""


@dataclass(frozen=True, slots=True)
class InlineImage:
    """The verdict on showing an image inline: its type, or why not (``reason``)."""

    mime_type: str
    reason: str | None


class Downloads:
    """Verified, cached attachment downloads for the notebook service."""

    def __init__(self, source: FileSource, cap: int) -> None:
        self._source = source
        self.cap = cap

    def refuse_if_listed_over_cap(self, entry: Entry) -> None:
        if entry.attach_file_size is not None and entry.attach_file_size > self.cap:
            raise InvalidArgumentError(
                f"attachment is {format_size(entry.attach_file_size)}, over the {format_size(self.cap)} "
                "download cap (LABARCHIVES_MAX_DOWNLOAD_BYTES)"
            )

    async def fetch(self, entry: Entry, *, partial: bool = False) -> VerifiedFile:
        """The verified bytes of an attachment entry.

        ``partial`` allows a file over the cap to come back cut at the cap (``truncated``); without
        it such a file is refused (InvalidArgumentError). The source raises UpstreamError when the
        bytes contradict the listing's size or are empty where the listing promised content.
        """
        if not partial:
            self.refuse_if_listed_over_cap(entry)
        download = await self._source.entry_attachment(
            entry.eid, self.cap, version=entry.version, listed_size=entry.attach_file_size
        )
        if download.truncated and not partial:
            raise InvalidArgumentError(
                f"attachment is larger than the {format_size(self.cap)} download cap (LABARCHIVES_MAX_DOWNLOAD_BYTES)"
            )
        declared = entry.attach_content_type or download.content_type
        mime, problem = filetype.reconcile(declared, download.data)
        return VerifiedFile(
            data=download.data,
            mime_type=mime,
            filename=download.filename or entry.attach_file_name,
            truncated=download.truncated,
            problem=problem,
        )


def inline_verdict(data: bytes, mime_type: str, problem: str | None, max_bytes: int, max_side: int) -> InlineImage:
    """Whether verified image bytes may be sent as MCP image content, and if not, why not."""
    if problem is not None:
        return InlineImage(mime_type, problem)
    if mime_type in NEVER_INLINE or mime_type not in filetype.INLINE_IMAGES:
        return InlineImage(mime_type, f"{mime_type} is not an image type that is shown inline")
    if len(data) > max_bytes:
        return InlineImage(mime_type, f"the image is larger than the {format_size(max_bytes)} inline limit")
    size = filetype.image_size(data, mime_type)
    if size is None or size.width < 1 or size.height < 1:
        return InlineImage(mime_type, f"the {mime_type} header gives no readable width and height")
    if max(size.width, size.height) > max_side:
        return InlineImage(
            mime_type, f"the image is {size.width}x{size.height} px, over the {max_side} px inline limit per side"
        )
    return InlineImage(mime_type, None)
