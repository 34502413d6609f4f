"""Reading one attachment after the scope check: its text window, its image (or thumbnail), or its bytes.

The notebook service hands ``get_attachment`` and the attachment resources here. Text comes from
``labmcp.notebook.attachment_text``; downloads are verified by ``labmcp.notebook.files``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from labmcp.config import OutputSettings
from labmcp.errors import InvalidArgumentError, LabArchivesError
from labmcp.labarchives.filetype import reconcile
from labmcp.labarchives.models import PART_ATTACHMENT, Download, Entry
from labmcp.notebook import uris
from labmcp.notebook.answers import AttachmentAnswer, Rendered, ResourceRef, check_index
from labmcp.notebook.attachment_text import ContentReader
from labmcp.notebook.documents import DocumentStore
from labmcp.notebook.escape import escape_text
from labmcp.notebook.excerpts import attachment_kind
from labmcp.notebook.files import NEVER_INLINE, Downloads, VerifiedFile, inline_verdict
from labmcp.notebook.links import Links
from labmcp.notebook.render import format_size
from labmcp.notebook.scope import Located, Scope, Source, not_found

Audit = Callable[..., None]
"""Writes one audit line: ``audit(tool, **facts)``."""


@dataclass(frozen=True, slots=True)
class Blob:
    """Bytes of an attachment for a resource read."""

    data: bytes
    mime_type: str
    filename: str


class Attachments:
    """The attachment reads of one notebook service: same source, scope, links, budget and audit log."""

    def __init__(
        self,
        source: Source,
        scope: Scope,
        output: OutputSettings,
        links: Links,
        downloads: Downloads,
        limit: int,
        audit: Audit,
    ) -> None:
        self._source = source
        self._scope = scope
        self._output = output
        self._links = links
        self._downloads = downloads
        self._limit = limit
        self._audit = audit
        self._content = ContentReader(
            downloads, DocumentStore(source), lambda eid: self._thumbnail(eid, output.max_image_bytes)
        )

    async def _attachment_entry(self, nbid: str, page_id: str, eid: str) -> tuple[Located, Entry]:
        located = await self._scope.locate(nbid, page_id, kind="page")
        page = await self._scope.entries(nbid, page_id, entry_data=False)
        for entry in page.entries:
            if entry.eid == eid:
                if entry.part_type != PART_ATTACHMENT:
                    raise InvalidArgumentError(f"entry {eid!r} is a {entry.part_type}, not an attachment")
                return located, entry
        raise not_found("entry", eid)

    async def read(
        self, nbid: str, page_id: str, eid: str, start_index: int, limit: int, pages: str | None
    ) -> AttachmentAnswer:
        """``get_attachment``: a window of at most ``limit`` characters of the file as text, or its image."""
        check_index("start_index", start_index)
        located, entry = await self._attachment_entry(nbid, page_id, eid)
        kind = attachment_kind(entry)
        uri = uris.attachment_uri(nbid, page_id, eid)
        meta: dict[str, Any] = {
            "notebook_id": nbid,
            "page_id": page_id,
            "page_title": located.node.display_text,
            "entry_id": eid,
            "filename": entry.attach_file_name,
            "content_type": entry.attach_content_type,
            "size": entry.attach_file_size,
            "caption": entry.caption or (entry.entry_data or ""),
            "kind": kind,
            "uri": uri,
        }
        where = " / ".join(p for p in (located.notebook.name, located.folder_path) if p)
        head = (
            f"# Attachment: {escape_text(entry.attach_file_name or eid)}\n\n"
            f"Page: {escape_text(located.node.display_text)} ({escape_text(where)}) — "
            f"{self._links.page(nbid, page_id)}  \n"
            f"Type: {escape_text(entry.attach_content_type or 'unknown')}; size: "
            f"{format_size(entry.attach_file_size) if entry.attach_file_size is not None else 'unknown'}"
            f"{'; caption: ' + escape_text(meta['caption']) if meta['caption'] else ''}\n"
        )
        link = ResourceRef(
            uri,
            entry.attach_file_name or eid,
            entry.attach_content_type or "application/octet-stream",
            entry.attach_file_size,
        )
        if kind == "image":
            return await self._image_attachment(entry, meta, head, link)
        answer = await self._content.read(entry, meta, head, link, start_index, limit, pages)
        facts = answer.rendered.structured
        self._audit(
            "get_attachment",
            notebook=nbid,
            page=page_id,
            entry=eid,
            returned=facts["returned"],
            detected=facts.get("detected_type"),
            chars=len(facts.get("content", "")),
        )
        return answer

    async def _image_attachment(
        self, entry: Entry, meta: dict[str, Any], head: str, link: ResourceRef
    ) -> AttachmentAnswer:
        """The image inline only when its bytes prove the type, size and sides allow; else the
        thumbnail (also verified) or a link, with a plain note of why. A file whose bytes contradict
        its declared type gets no thumbnail either: it is not the image it says it is."""
        cap, side = self._output.max_image_bytes, self._output.max_image_side
        facts = {"notebook": meta["notebook_id"], "page": meta["page_id"], "entry": entry.eid}
        reason = f"the image is larger than the {format_size(cap)} inline limit"
        if entry.attach_file_size is None or entry.attach_file_size <= min(cap, self._downloads.cap):
            file = await self._downloads.fetch(entry, partial=True)
            meta["detected_type"] = file.mime_type
            verdict = inline_verdict(file.data, file.mime_type, file.problem, cap, side)
            if verdict.reason is None and not file.truncated:
                self._audit("get_attachment", **facts, image_bytes=len(file.data))
                meta["returned"] = "image"
                note = "\nThe image follows as image content."
                return AttachmentAnswer(Rendered(head + note, meta), link, image=file.data, image_type=file.mime_type)
            reason = verdict.reason or reason
            if file.problem is not None:
                meta.update(returned="link", problem=file.problem)
                self._audit("get_attachment", **facts, returned="link", problem=file.problem)
                note = f"\nNot shown: {file.problem}. The bytes are available as the resource {link.uri}."
                return AttachmentAnswer(Rendered(head + note, meta), link)
        thumb = await self._thumbnail(entry.eid, cap)
        if thumb is not None:
            self._audit("get_attachment", **facts, thumbnail_bytes=len(thumb.data))
            meta["returned"] = "thumbnail"
            note = (
                f"\nNot shown inline: {reason}; LabArchives' thumbnail follows as image content. "
                f"The full image is the resource {link.uri}."
            )
            return AttachmentAnswer(Rendered(head + note, meta), link, image=thumb.data, image_type=thumb.content_type)
        meta["returned"] = "link"
        self._audit("get_attachment", **facts, returned="link")
        note = f"\nNot shown inline: {reason}; read the resource {link.uri}."
        return AttachmentAnswer(Rendered(head + note, meta), link)

    async def _thumbnail(self, eid: str, cap: int) -> Download | None:
        """LabArchives' thumbnail of an image (``entry_thumb``, §6.4), if it has one that can be inlined.

        A missing thumbnail is normal (LabArchives answers with an error), so any LabArchives error
        here means "no thumbnail", not a failed tool call. A thumbnail is checked like an image:
        its bytes must prove its type, and its size and sides must be within the limits.
        """
        try:
            thumb = await self._source.entry_thumb(eid, cap)
        except LabArchivesError:
            return None
        mime, problem = reconcile(thumb.content_type, thumb.data)
        if thumb.truncated or inline_verdict(thumb.data, mime, problem, cap, self._output.max_image_side).reason:
            return None
        return replace(thumb, content_type=mime)

    async def markdown(self, nbid: str, page_id: str, eid: str) -> str:
        """The attachment-as-text resource: ``get_attachment``'s first window as Markdown. An image has no
        text; its answer says so and names the resource that holds its bytes."""
        answer = await self.read(nbid, page_id, eid, 0, self._limit, None)
        if answer.image is None:
            return answer.rendered.markdown
        return (
            f"{answer.rendered.markdown}\n\n(This is the text resource: no image content comes with it. The "
            f"image's bytes are the resource {answer.link.uri}.)"
        )

    async def download(self, nbid: str, page_id: str, eid: str) -> VerifiedFile:
        """An attachment's verified bytes after the scope check: the whole file, or an error when it
        is over the download cap. One download per file version while the cache holds it."""
        _, entry = await self._attachment_entry(nbid, page_id, eid)
        return await self._downloads.fetch(entry)

    async def blob(self, nbid: str, page_id: str, eid: str) -> Blob:
        """The attachment resource: the whole verified file, refused when it is over the download cap.

        Its type is the one the bytes prove; SVG and HTML (which a client might render and run) and
        bytes that contradict their declared type go out as ``application/octet-stream``.
        """
        file = await self.download(nbid, page_id, eid)
        self._audit("resource:attachment", notebook=nbid, page=page_id, entry=eid, bytes=len(file.data))
        unsafe = file.problem is not None or file.mime_type in NEVER_INLINE
        return Blob(file.data, "application/octet-stream" if unsafe else file.mime_type, file.filename)
