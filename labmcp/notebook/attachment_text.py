"""``get_attachment`` for files that are not shown as images: text windows and extracted documents.

The type is decided from the downloaded bytes (``extract.detect``), not from the name or the type
LabArchives reports: a PDF, DOCX, XLSX or PPTX becomes Markdown by part (page, section, sheet,
slide); text is shown as text (CSV/TSV with a preview table on the first window); anything else is
metadata and a resource link. Every content window sits inside the untrusted-content frame and ends
with a note that says exactly how to continue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath
from typing import Any, Final

from labmcp.labarchives.models import Download, Entry
from labmcp.notebook.answers import AttachmentAnswer, Rendered, ResourceRef
from labmcp.notebook.budget import Slice, slice_text
from labmcp.notebook.documents import DocumentStore, parse_pages, window
from labmcp.notebook.extract import MIME_TYPES, Document, detect
from labmcp.notebook.extract.delimited import delimiter_for, preview
from labmcp.notebook.files import Downloads
from labmcp.notebook.frame import end_marker, neutralise, new_nonce, start_marker
from labmcp.notebook.markdown import fenced
from labmcp.notebook.render import format_size

DOCUMENT_KINDS: Final = frozenset({"pdf", "docx", "xlsx", "pptx"})
KIND_NAMES: Final = {
    "pdf": "PDF",
    "docx": "Word document (DOCX)",
    "xlsx": "Excel workbook (XLSX)",
    "pptx": "PowerPoint deck (PPTX)",
    "text": "text",
    "zip": "a zip archive",
    "ole": "a legacy Office file (.doc/.xls/.ppt), which is not read",
    "binary": "binary data",
}
# Names and declared types worth a download to look at the bytes; other binaries (video, archives
# LabArchives labels as such) get metadata and a link without one.
_READABLE_EXTENSIONS: Final = frozenset({"pdf", "docx", "docm", "xlsx", "xlsm", "pptx", "pptm"})
_GENERIC_TYPES: Final = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/pdf"})
_OFFICE_PREFIX: Final = "application/vnd.openxmlformats-officedocument."

Thumbnail = Callable[[str], Awaitable[Download | None]]


def worth_reading(entry: Entry, declared_kind: str) -> bool:
    """Whether the file may be text or a readable document, judging by what LabArchives says of it."""
    ctype = entry.attach_content_type.split(";")[0].strip().lower()
    ext = PurePosixPath(entry.attach_file_name).suffix.lower().lstrip(".")
    return (
        declared_kind == "text"
        or ext in _READABLE_EXTENSIONS
        or ctype in _GENERIC_TYPES
        or (ctype.startswith(_OFFICE_PREFIX))
    )


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    return data.decode("utf-8-sig", errors="replace")


def _window_facts(piece: Slice, *, download_truncated: bool) -> dict[str, Any]:
    """The structured facts of one text window (the same for documents and plain text)."""
    return {
        "returned": "text",
        "start_index": piece.start,
        "end_index": piece.end,
        "total_chars": piece.total,
        "truncated": piece.truncated,
        "next_start_index": piece.next_start,
        "download_truncated": download_truncated,
        "content": piece.text,
    }


def _notice(piece: Slice, pages: str | None) -> str:
    if piece.truncated:
        also = f' and pages="{pages}"' if pages else ""
        return (
            f"[Showing characters {piece.start}-{piece.end} of {piece.total}. "
            f"Call get_attachment again with start_index={piece.end}{also} to continue.]"
        )
    return piece.notice("get_attachment")


class ContentReader:
    """Reads attachments as text or documents, reusing one download (or one extraction) across windows."""

    def __init__(self, downloads: Downloads, store: DocumentStore, thumbnail: Thumbnail) -> None:
        self._downloads = downloads
        self._store = store
        self._thumbnail = thumbnail

    async def read(
        self,
        entry: Entry,
        meta: dict[str, Any],
        head: str,
        link: ResourceRef,
        start_index: int,
        limit: int,
        pages: str | None,
    ) -> AttachmentAnswer:
        key = ("attachment", entry.eid, entry.version, entry.updated_at, entry.attach_file_size)
        cached = self._store.get(key)
        if cached is not None:
            return await self._document(cached, meta, head, link, start_index, limit, pages)
        if not worth_reading(entry, meta["kind"]):
            return self._link(meta, head, link, "This file type cannot be shown as text.")
        cap, size = self._downloads.cap, entry.attach_file_size
        if size is not None and size > cap and meta["kind"] != "text":
            return self._link(
                meta, head, link, f"The file is {format_size(size)}, over the {format_size(cap)} download cap."
            )
        # Verified (size against the listing, type from the bytes) and kept in the byte-bounded cache,
        # so further windows of a text reuse the same download.
        file = await self._downloads.fetch(entry, partial=True)
        kind = detect(file.data)
        meta.update(detected_type=MIME_TYPES.get(kind, file.mime_type), format=kind)
        if file.problem is not None:
            # The bytes decide what the file is read as; the contradiction is said, not hidden.
            meta["problem"] = file.problem
            head += f"Note: {file.problem}; it is read as what its bytes are.\n"
        if kind in DOCUMENT_KINDS:
            if file.truncated:
                cut = f"The file is larger than the {format_size(cap)} download cap; a cut {KIND_NAMES[kind]}"
                return self._link(meta, head, link, cut + " cannot be read.")
            document = await self._store.extract(key, kind, file.data, entry.attach_file_name or entry.eid)
            return await self._document(document, meta, head, link, start_index, limit, pages)
        if kind == "text":
            return self._text(entry, _decode(file.data), file.truncated, meta, head, link, start_index, limit, pages)
        return self._link(meta, head, link, f"Its bytes are {KIND_NAMES[kind]}; it cannot be shown as text.")

    def _link(self, meta: dict[str, Any], head: str, link: ResourceRef, why: str) -> AttachmentAnswer:
        meta["returned"] = "link"
        note = f"\n{why} Its bytes are available as the resource {link.uri}."
        return AttachmentAnswer(Rendered(head + note, meta), link)

    async def _document(
        self,
        document: Document,
        meta: dict[str, Any],
        head: str,
        link: ResourceRef,
        start_index: int,
        limit: int,
        pages: str | None,
    ) -> AttachmentAnswer:
        meta.update(
            detected_type=MIME_TYPES[document.kind],
            format=document.kind,
            unit=document.unit,
            part_count=len(document.parts),
            summary=list(document.summary),
            notes=list(document.notes),
            facts=dict(document.facts),
        )
        lines = [head, f"Read as: {KIND_NAMES[document.kind]} (detected from the file's bytes).", *document.summary]
        lines += [f"Note: {note}" for note in document.notes]
        if document.no_text:
            return await self._no_text(meta, "\n".join(lines), link)
        first, last = parse_pages(pages, len(document.parts), document.unit) if pages else (0, len(document.parts))
        shown = window(document, start_index, limit, first, last)
        piece = shown.piece
        if pages:
            lines.append(f"Showing {document.unit}s {first + 1}-{last} of {len(document.parts)} (pages={pages!r}).")
        nonce = new_nonce()
        frame = f"{start_marker(nonce)}\n{shown.context}{piece.text.rstrip()}\n{end_marker(nonce)}"
        body = "\n".join(lines) + f"\n\n{frame}\n\n"
        body += _notice(piece, pages)
        meta.update(_window_facts(piece, download_truncated=False), pages=pages)
        return AttachmentAnswer(Rendered(body, meta), link)

    async def _no_text(self, meta: dict[str, Any], text: str, link: ResourceRef) -> AttachmentAnswer:
        """An encrypted or scanned PDF: say so, and show LabArchives' first-page thumbnail when it has one."""
        thumb = await self._thumbnail(meta["entry_id"])
        if thumb is not None:
            meta["returned"] = "thumbnail"
            note = "\nLabArchives' thumbnail of the first page follows as image content."
            answer = Rendered(text + note + f"\nThe file's bytes are the resource {link.uri}.", meta)
            return AttachmentAnswer(answer, link, image=thumb.data, image_type=thumb.content_type)
        meta["returned"] = "link"
        return AttachmentAnswer(Rendered(text + f"\nThe file's bytes are the resource {link.uri}.", meta), link)

    def _text(
        self,
        entry: Entry,
        text: str,
        download_truncated: bool,
        meta: dict[str, Any],
        head: str,
        link: ResourceRef,
        start_index: int,
        limit: int,
        pages: str | None,
    ) -> AttachmentAnswer:
        if pages:
            return self._link(
                meta, head, link, "pages applies to PDF, Word, Excel and PowerPoint files; use start_index for text."
            )
        delimiter = delimiter_for(entry.attach_file_name, entry.attach_content_type)
        table = preview(text, delimiter) if delimiter and start_index == 0 else None
        # The preview shares the first window's budget with the raw text.
        raw_limit = max(limit // 2, limit - len(table.table)) if table is not None else limit
        piece = slice_text(text, start_index, raw_limit)
        lang = PurePosixPath(entry.attach_file_name).suffix.lstrip(".").lower()
        body = head
        if table is not None:
            meta.update(columns=list(table.columns), row_count=table.rows)
            body += (
                f"\nColumns ({len(table.columns)}): {', '.join(table.columns)}\n"
                f"Data rows: {table.rows}"
                + (f" (after {table.preamble} line(s) of preamble)" if table.preamble else "")
                + (" — counted in the downloaded part only" if download_truncated else "")
            )
        nonce = new_nonce()
        body += f"\n\n{start_marker(nonce)}\n"
        if table is not None:
            body += f"First rows as a table:\n\n{neutralise(table.table)}\n\nThe raw text:\n\n"
        body += f"{fenced(neutralise(piece.text), lang)}\n{end_marker(nonce)}\n\n{_notice(piece, None)}"
        if download_truncated:
            body += (
                f"\nOnly the first {format_size(len(text.encode()))} of this file were downloaded "
                f"(download cap); the rest is not shown."
            )
        meta.update(_window_facts(piece, download_truncated=download_truncated))
        return AttachmentAnswer(Rendered(body, meta), link)
