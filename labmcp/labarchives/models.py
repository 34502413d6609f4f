"""Typed results of LabArchives calls: frozen dataclasses, no XML, no I/O.

Field names follow the spec's element names (§6, §7.1) with hyphens turned into underscores.
Everything optional in the XML is optional here; ids are opaque strings (§3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

# Exact part-type strings (§7.2). Unknown part types are kept verbatim in Entry.part_type.
PART_ATTACHMENT: Final = "Attachment"
PART_TEXT: Final = "text entry"
PART_PLAIN_TEXT: Final = "plain text entry"
PART_HEADING: Final = "heading"
PART_WIDGET: Final = "widget entry"
PART_SKETCH: Final = "sketch entry"
PART_REFERENCE: Final = "reference entry"
PART_EQUATION: Final = "equation entry"
PART_ASSIGNMENT: Final = "assignment entry"

ROOT_TREE_ID: Final = "0"
"""The parent_tree_id of a notebook's top level (§3, §6.3)."""


@dataclass(frozen=True, slots=True)
class UserAccess:
    """The ``<user-access>`` block of a node or entry."""

    can_read: bool = True
    can_write: bool = False
    can_read_comments: bool = False
    can_write_comments: bool = False


@dataclass(frozen=True, slots=True)
class NotebookRef:
    """A notebook as listed in ``<users><notebooks>`` (§6.1)."""

    id: str
    name: str
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class User:
    """The result of ``user_access_info`` / ``user_info_via_id`` (§6.1)."""

    uid: str
    fullname: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    auto_login_allowed: bool | None = None
    notebooks: tuple[NotebookRef, ...] = ()


@dataclass(frozen=True, slots=True)
class NotebookInfo:
    """The result of ``notebooks/notebook_info`` (§6.2)."""

    id: str
    name: str
    is_student: bool | None = None
    signing: str = ""
    add_entry_to_page_top: bool | None = None
    site_notebook_id: str = ""


@dataclass(frozen=True, slots=True)
class TreeNode:
    """A folder or page: a ``<level-node>`` of ``get_tree_level`` or the ``<node>`` of ``get_node``."""

    tree_id: str
    display_text: str
    is_page: bool
    user_access: UserAccess = UserAccess()


@dataclass(frozen=True, slots=True)
class NodeDetails:
    """The answer of ``get_node`` (§6.3): the node, and its parent where LabArchives says.

    §6.3 only promises "node title, user access, entry count, display text and other metadata", so
    ``parent_tree_id`` is None when the answer has no ``<parent-tree-id>`` (``0`` means the notebook's
    top level) and ``entry_count`` is None when it has no ``<entry-count>``.
    """

    node: TreeNode
    parent_tree_id: str | None = None
    entry_count: int | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    """One ``<comment>`` of an entry (only with ``comment_data=true``)."""

    cid: str
    text: str = ""
    created_by: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """An ``<entry>`` of a page, of ``entry_info`` or of a search (§7.1).

    ``entry_data`` is None when the XML had none or ``nil="true"``. For ``Attachment`` entries it is
    the caption, not the file (§7.2). ``nbid``, ``notebook`` and ``tree_path`` are search extras.
    """

    eid: str
    part_type: str
    entry_data: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int | None = None
    last_modified_by: str = ""
    last_modified_verb: str = ""
    attach_file_name: str = ""
    attach_file_size: int | None = None
    attach_content_type: str = ""
    caption: str = ""
    change_description: str = ""
    entry_url: str = ""
    thumb_info: str = ""
    snapshot: str = ""
    user_access: UserAccess | None = None
    number_comments: int | None = None
    comments: tuple[Comment, ...] = ()
    nbid: str = ""
    notebook: str = ""
    tree_path: str = ""


@dataclass(frozen=True, slots=True)
class PageEntries:
    """The result of ``get_entries_for_page``: entries in page order."""

    entries: tuple[Entry, ...]
    total_returned: int


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of ``entry_search`` / ``attachment_search``; empty (not an error) on HTTP 404 (§6.5)."""

    entries: tuple[Entry, ...]
    total_found: int
    total_returned: int


@dataclass(frozen=True, slots=True)
class Download:
    """Bytes of ``entry_attachment`` / ``entry_thumb``, capped at the configured size.

    ``truncated`` is True when the body was longer than the cap and only the first bytes are here;
    ``size`` is the length announced by the server (Content-Length) when it sent one.
    """

    filename: str
    content_type: str
    data: bytes
    truncated: bool
    size: int | None = None
