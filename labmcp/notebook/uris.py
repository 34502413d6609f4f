"""MCP resource URIs for notebooks, folders, pages and attachments: build and parse, strictly.

LabArchives ids are opaque and may contain ``+``, ``/`` and ``=`` (§3, §8.2), so every id is one
percent-encoded path segment. Parsing decodes exactly once and refuses anything it did not build.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote_to_bytes

from labmcp.errors import InvalidArgumentError

SCHEME: Final = "labarchives"
NOTEBOOKS_URI: Final = "labarchives://notebooks"
NOTEBOOK_TEMPLATE: Final = "labarchives://notebooks/{notebook_id}"
FOLDER_TEMPLATE: Final = "labarchives://notebooks/{notebook_id}/folders/{folder_id}"
PAGE_TEMPLATE: Final = "labarchives://notebooks/{notebook_id}/pages/{page_id}"
ATTACHMENT_TEMPLATE: Final = "labarchives://notebooks/{notebook_id}/pages/{page_id}/attachments/{entry_id}"
ATTACHMENT_TEXT_TEMPLATE: Final = ATTACHMENT_TEMPLATE + "/text"
CHANGES_URI: Final = "labarchives://changes"
CHANGES_TEMPLATE: Final = "labarchives://changes{?since,notebook_id}"
MAX_URI_CHARS: Final = 4096

_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class NotebooksURI:
    """``labarchives://notebooks``: the notebooks in scope."""


@dataclass(frozen=True, slots=True)
class NotebookURI:
    """A notebook's top level."""

    notebook_id: str


@dataclass(frozen=True, slots=True)
class FolderURI:
    """A folder of a notebook."""

    notebook_id: str
    folder_id: str


@dataclass(frozen=True, slots=True)
class PageURI:
    """A page of a notebook."""

    notebook_id: str
    page_id: str


@dataclass(frozen=True, slots=True)
class AttachmentURI:
    """An attachment entry on a page."""

    notebook_id: str
    page_id: str
    entry_id: str


@dataclass(frozen=True, slots=True)
class ChangesURI:
    """``labarchives://changes?since=7d&notebook_id=...``: recent changes (RFC 6570 query expansion)."""

    since: str = "7d"
    notebook_id: str | None = None


@dataclass(frozen=True, slots=True)
class AttachmentTextURI:
    """An attachment entry read as Markdown (what ``get_attachment`` shows first), for clients that want text."""

    notebook_id: str
    page_id: str
    entry_id: str


ParsedURI = NotebooksURI | NotebookURI | FolderURI | PageURI | AttachmentURI | AttachmentTextURI | ChangesURI


@functools.lru_cache(maxsize=256)
def _q(ident: str) -> str:
    """An id as one URI path segment. Cached: the same few ids are quoted in every answer, and
    ``quote`` is the costliest step of building a URI. 256 ids of at most 1,024 characters keep
    under 2 MB even when every one is hostile."""
    return quote(ident, safe="")


def notebook_uri(nbid: str) -> str:
    """The resource URI of a notebook."""
    return f"{NOTEBOOKS_URI}/{_q(nbid)}"


def folder_uri(nbid: str, folder_id: str) -> str:
    """The resource URI of a folder."""
    return f"{notebook_uri(nbid)}/folders/{_q(folder_id)}"


def page_uri(nbid: str, page_id: str) -> str:
    """The resource URI of a page."""
    return f"{notebook_uri(nbid)}/pages/{_q(page_id)}"


def attachment_uri(nbid: str, page_id: str, eid: str) -> str:
    """The resource URI of an attachment entry."""
    return f"{page_uri(nbid, page_id)}/attachments/{_q(eid)}"


def attachment_text_uri(nbid: str, page_id: str, eid: str) -> str:
    """The resource URI of an attachment entry read as Markdown."""
    return attachment_uri(nbid, page_id, eid) + "/text"


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") for ch in text)


def _decode(segment: str, name: str) -> str:
    """One id segment, percent-decoded exactly once (``%252F`` stays the literal id ``%2F``)."""
    if not segment:
        raise InvalidArgumentError(f"{name} is empty in the resource URI")
    if _BAD_PERCENT.search(segment):
        raise InvalidArgumentError(f"{name} has a malformed percent-escape in the resource URI")
    try:
        ident = unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(f"{name} is not valid UTF-8 once percent-decoded") from None
    if _has_control(ident):
        raise InvalidArgumentError(f"{name} contains control characters")
    return ident


def _changes(query: str) -> ChangesURI:
    """The query of a changes URI: ``since`` and ``notebook_id``, each at most once, nothing else."""
    values: dict[str, str] = {}
    for part in query.split("&") if query else []:
        name, sep, value = part.partition("=")
        if not sep or name not in ("since", "notebook_id") or name in values:
            raise InvalidArgumentError(f"{CHANGES_URI} takes ?since=...&notebook_id=... (each once), got {part[:40]!r}")
        values[name] = _decode(value, name)
    return ChangesURI(values.get("since", "7d"), values.get("notebook_id"))


def changes_uri(since: str = "7d", nbid: str | None = None) -> str:
    """The resource URI of recent changes since ``since`` (ISO-8601 or relative), in one notebook or all."""
    query = f"since={_q(since)}" + (f"&notebook_id={_q(nbid)}" if nbid else "")
    return f"{CHANGES_URI}?{query}"


def parse_uri(uri: str) -> ParsedURI:
    """The resource a ``labarchives://`` URI names; InvalidArgumentError for anything else."""
    if len(uri) > MAX_URI_CHARS:
        raise InvalidArgumentError(f"resource URI is longer than {MAX_URI_CHARS} characters")
    if _has_control(uri) or any(ch.isspace() for ch in uri):
        raise InvalidArgumentError("resource URI contains whitespace or control characters")
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.lower() != SCHEME:
        raise InvalidArgumentError(f"resource URI must start with {SCHEME}://")
    if rest == "changes" or rest.startswith("changes?"):
        return _changes(rest.partition("?")[2])
    if "?" in rest or "#" in rest:
        raise InvalidArgumentError("resource URI must not have a query or fragment")
    segments = rest.split("/")
    if segments[0] != "notebooks":
        raise InvalidArgumentError(f"resource URI must start with {NOTEBOOKS_URI}")
    match segments[1:]:
        case []:
            return NotebooksURI()
        case [nb]:
            return NotebookURI(_decode(nb, "notebook_id"))
        case [nb, "folders", folder]:
            return FolderURI(_decode(nb, "notebook_id"), _decode(folder, "folder_id"))
        case [nb, "pages", page]:
            return PageURI(_decode(nb, "notebook_id"), _decode(page, "page_id"))
        case [nb, "pages", page, "attachments", entry]:
            return AttachmentURI(_decode(nb, "notebook_id"), _decode(page, "page_id"), _decode(entry, "entry_id"))
        case [nb, "pages", page, "attachments", entry, "text"]:
            return AttachmentTextURI(_decode(nb, "notebook_id"), _decode(page, "page_id"), _decode(entry, "entry_id"))
    raise InvalidArgumentError(
        "resource URI does not match any labarchives:// template (notebooks, notebooks/{id}, "
        "notebooks/{id}/folders/{id}, notebooks/{id}/pages/{id}, notebooks/{id}/pages/{id}/attachments/{id}, "
        "notebooks/{id}/pages/{id}/attachments/{id}/text)"
    )
