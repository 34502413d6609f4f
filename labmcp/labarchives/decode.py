"""LabArchives XML responses into frozen dataclasses, by tag name, without I/O (§3, §6, §7).

Children are looked up by tag among the direct children of the element that owns them, never by
position (order is not fixed, §3) and never with a descendant search from the root, because the
``<request>`` echo repeats parameter names such as ``<entry-data>`` (§8.4). Unknown elements are
ignored; ``nil="true"`` reads as None. A DTD or entity declaration is refused before parsing, in
whatever encoding the document declares, so an upstream body cannot expand entities (billion
laughs) or reach external files.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Final
from xml.parsers import expat

from labmcp.digits import integer_or_none
from labmcp.errors import UpstreamError
from labmcp.labarchives import wire
from labmcp.labarchives.models import (
    ROOT_TREE_ID,
    Comment,
    Entry,
    NodeDetails,
    NotebookInfo,
    NotebookRef,
    PageEntries,
    SearchResults,
    TreeNode,
    User,
    UserAccess,
)

_DTD: Final = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
MAX_ELEMENTS: Final = 100_000
"""Elements one response may hold: about 13 MB of tree at most, and far beyond any real page or level."""
_FEED: Final = 64 * 1024
_DTD_OVERLAP: Final = 64
"""Characters of the previous piece searched again with the next, so a declaration split between
two pieces is still found (``<!DOCTYPE`` must be written whole to be one)."""
_TEXT_BUFFER: Final = 256 * 1024
"""The text expat gathers before handing it over (it also hands it over after each piece fed)."""
MAX_NAME_CHARS: Final = 1_000
"""Longest name kept (LabArchives' own names are far shorter; an absurd one would flood listings)."""


ESCAPED_TEXT_METHODS: Final = frozenset(
    {
        "get_entries_for_page",
        "entry_info",
        "entry_search",
        "modified_since",
        "attachment_search",
        "most_recently_modified_attachment_by_extension",
    }
)
"""Methods whose answers carry entries, whose text is escaped HTML: parsed by expat with buffered text."""


def parse_xml(body: str | bytes, method: str, content_type: str = "") -> ET.Element:
    """Parse a response, refusing DTDs and entities and bounding the element count.

    ``body`` is the raw reply, decoded here incrementally in the charset XML 1.0 Appendix F picks
    (``wire.xml_text_pieces``; ``content_type`` supplies the HTTP ``charset``), or text already
    decoded. Nothing holds the whole body as text: each piece is checked for a DTD or entity
    declaration (with an overlap, so one split across pieces is seen; in UTF-16 or UTF-32 as in
    UTF-8) and fed on. The element count is checked as elements open, so an absurd count is stopped
    as it grows, not after. Garbage becomes a clear UpstreamError.

    Two parsers build the same tree (namespaced names as ``{uri}local``, comments and processing
    instructions dropped). ``ElementTree``'s own is fastest on listings, which are all elements;
    but it hands over a text node in one piece per character reference, some 180,000 pieces for a
    page with 200 KB of HTML (22 MB of small strings for a 2 MB entry before they were joined). So
    the answers that carry entries (``ESCAPED_TEXT_METHODS``) go through expat with buffered text,
    which also refuses a DOCTYPE or entity declaration in its own handlers.
    """
    pieces = wire.xml_text_pieces(body, content_type, method) if isinstance(body, bytes) else _slices(body)
    guarded = _without_declarations(pieces, method)
    try:
        root = _buffered_tree(guarded) if method in ESCAPED_TEXT_METHODS else _element_tree(guarded)
    except _TooMany:
        raise UpstreamError(
            f"LabArchives {method} returned XML with more than {MAX_ELEMENTS} elements; refused", method=method
        ) from None
    except _Declaration:
        raise _declaration_error(method) from None
    except (ET.ParseError, expat.ExpatError) as exc:
        raise UpstreamError(f"LabArchives {method} returned malformed XML ({exc})", method=method) from None
    if root is None:
        raise UpstreamError(f"LabArchives {method} returned malformed XML (no element)", method=method)
    return root


class _TooMany(Exception):
    """Parsing stopped at ``MAX_ELEMENTS``."""


class _Declaration(Exception):
    """Parsing stopped at a DOCTYPE or entity declaration."""


def _declaration_error(method: str) -> UpstreamError:
    return UpstreamError(f"LabArchives {method} returned XML with a DTD or entity declaration; refused", method=method)


def _slices(text: str) -> Iterator[str]:
    for offset in range(0, len(text), _FEED):
        yield text[offset : offset + _FEED]


def _without_declarations(pieces: Iterable[str], method: str) -> Iterator[str]:
    """``pieces`` unchanged, or a refusal as soon as one (with the end of the one before) declares."""
    tail = ""
    for piece in pieces:
        if _DTD.search(tail + piece[:_DTD_OVERLAP]) or _DTD.search(piece):
            raise _declaration_error(method)
        tail = piece[-_DTD_OVERLAP:]
        yield piece


def _element_tree(pieces: Iterable[str]) -> ET.Element | None:
    """``ElementTree``'s parser, fed in pieces so the element count is checked as it grows."""
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("start",))
    root: ET.Element | None = None
    count = 0
    for piece in pieces:
        parser.feed(piece)
        for event in parser.read_events():
            element = event[-1]
            if root is None and isinstance(element, ET.Element):
                root = element
            count += 1
        if count > MAX_ELEMENTS:
            raise _TooMany
    parser.close()
    return root


def _buffered_tree(pieces: Iterable[str]) -> ET.Element | None:
    """Expat with buffered text into an ``ElementTree`` builder: a text node arrives in one piece per
    piece fed (at most ``_TEXT_BUFFER`` characters), not one per character reference."""
    builder = ET.TreeBuilder()
    count = 0

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise _TooMany
        builder.start(_name(tag), {_name(k): v for k, v in attrs.items()} if attrs else attrs)

    def declaration(*_: object) -> None:
        raise _Declaration

    parser = expat.ParserCreate(namespace_separator="}")
    parser.buffer_text = True
    parser.buffer_size = _TEXT_BUFFER
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(_name(tag))
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = declaration
    parser.EntityDeclHandler = declaration
    parser.UnparsedEntityDeclHandler = declaration
    for piece in pieces:
        parser.Parse(piece, False)
    parser.Parse("", True)
    return builder.close()


def _name(name: str) -> str:
    """Expat's ``uri}local`` as ``ElementTree``'s ``{uri}local``."""
    return "{" + name if "}" in name else name


def _child(el: ET.Element, tag: str) -> ET.Element | None:
    return el.find(tag)


def _is_nil(el: ET.Element | None) -> bool:
    return el is None or el.get("nil") == "true"


def text(el: ET.Element, tag: str, default: str = "") -> str:
    """The text of a direct child, or ``default`` when missing or nil."""
    child = _child(el, tag)
    if child is None or _is_nil(child):
        return default
    return child.text or ""


def short_name(el: ET.Element, tag: str) -> str:
    """A notebook, folder, page or file name, cut at ``MAX_NAME_CHARS`` with an ellipsis: names are
    shown in every listing and its structured content, where no output budget would cut them."""
    value = text(el, tag)
    return value if len(value) <= MAX_NAME_CHARS else value[: MAX_NAME_CHARS - 1] + "…"


def opt_text(el: ET.Element, tag: str) -> str | None:
    child = _child(el, tag)
    if child is None or _is_nil(child):
        return None
    return child.text or ""


def boolean(el: ET.Element, tag: str, default: bool | None = None) -> bool | None:
    value = opt_text(el, tag)
    if value is None:
        return default
    low = value.strip().lower()
    if low in ("true", "1"):
        return True
    if low in ("false", "0"):
        return False
    return default


def integer(el: ET.Element, tag: str) -> int | None:
    value = opt_text(el, tag)
    return integer_or_none(value) if value else None


def timestamp(el: ET.Element, tag: str) -> datetime | None:
    """ISO-8601 UTC with ``Z`` (§3); anything unreadable is None rather than an error."""
    value = opt_text(el, tag)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        return None


def _items(el: ET.Element, container: str, item: str) -> list[ET.Element]:
    """Elements ``container/item``; one-element arrays are wrapped like longer ones (§3)."""
    holder = _child(el, container)
    return [] if holder is None else holder.findall(item)


def _expect_root(root: ET.Element, tag: str, method: str) -> None:
    if root.tag != tag:
        raise UpstreamError(f"LabArchives {method} returned <{root.tag}> where <{tag}> was expected", method=method)


def user_access(el: ET.Element | None) -> UserAccess | None:
    if el is None:
        return None
    return UserAccess(
        can_read=boolean(el, "can-read", True) is not False,
        can_write=bool(boolean(el, "can-write", False)),
        can_read_comments=bool(boolean(el, "can-read-comments", False)),
        can_write_comments=bool(boolean(el, "can-write-comments", False)),
    )


def decode_epoch_time(root: ET.Element) -> int:
    """``utilities/epoch_time``: ``<epoch-time>`` ms (§6.6); clients that read ``root[0]`` agree."""
    raw = root.findtext("epoch-time") if root.find("epoch-time") is not None else None
    if raw is None and root.tag == "epoch-time":
        raw = root.text
    value = integer_or_none(raw or "")
    if value is None:
        raise UpstreamError("LabArchives epoch_time returned no usable time", method="epoch_time")
    return value


def decode_user(root: ET.Element, method: str) -> User:
    """``user_access_info`` / ``user_info_via_id``: the uid is the top-level ``<id>`` (§6.1)."""
    _expect_root(root, "users", method)
    uid = text(root, "id")
    if not uid:
        raise UpstreamError(f"LabArchives {method} returned no user id", method=method)
    notebooks = tuple(
        NotebookRef(id=text(nb, "id"), name=short_name(nb, "name"), is_default=bool(boolean(nb, "is-default", False)))
        for nb in _items(root, "notebooks", "notebook")
        if text(nb, "id")
    )
    return User(
        uid=uid,
        fullname=text(root, "fullname"),
        first_name=text(root, "first-name"),
        last_name=text(root, "last-name"),
        email=text(root, "email"),
        auto_login_allowed=boolean(root, "auto-login-allowed"),
        notebooks=notebooks,
    )


def decode_max_file_size(root: ET.Element) -> int | None:
    return integer(root, "max-file-size")


def decode_notebook_info(root: ET.Element) -> NotebookInfo:
    _expect_root(root, "notebooks", "notebook_info")
    nb = _child(root, "notebook")
    if nb is None:
        raise UpstreamError("LabArchives notebook_info returned no <notebook>", method="notebook_info")
    return NotebookInfo(
        id=text(nb, "id"),
        name=short_name(nb, "name"),
        is_student=boolean(nb, "is-student"),
        signing=text(nb, "signing"),
        add_entry_to_page_top=boolean(nb, "add-entry-to-page-top"),
        site_notebook_id=text(nb, "site-notebook-id"),
    )


def _tree_node(el: ET.Element) -> TreeNode:
    return TreeNode(
        tree_id=text(el, "tree-id"),
        display_text=short_name(el, "display-text"),
        is_page=bool(boolean(el, "is-page", False)),
        user_access=user_access(_child(el, "user-access")) or UserAccess(),
    )


def decode_tree_level(root: ET.Element) -> tuple[TreeNode, ...]:
    """``get_tree_level``: ``<level-nodes><level-node>`` (§6.3); nodes without an id are dropped."""
    _expect_root(root, "tree-tools", "get_tree_level")
    return tuple(node for node in map(_tree_node, _items(root, "level-nodes", "level-node")) if node.tree_id)


def decode_node(root: ET.Element) -> NodeDetails:
    """``get_node``: ``<tree-tools><node>`` (§6.3; layout [INF], so a bare node root is accepted).

    The parent comes from ``<parent-tree-id>`` when the answer has one (an empty one means the top
    level, ``0``); without it ``parent_tree_id`` is None and the caller must place the node otherwise.
    """
    node = _child(root, "node") if root.tag == "tree-tools" else root if root.tag == "node" else None
    if node is None or not text(node, "tree-id"):
        raise UpstreamError("LabArchives get_node returned no node", method="get_node")
    parent = _child(node, "parent-tree-id")
    parent_id = None if parent is None else (parent.text or "").strip() or ROOT_TREE_ID
    return NodeDetails(_tree_node(node), parent_id, integer(node, "entry-count"))


def _comment(el: ET.Element) -> Comment:
    return Comment(
        cid=text(el, "cid") or text(el, "id"),
        text=text(el, "comment-data") or text(el, "text"),
        created_by=text(el, "created-by") or text(el, "last-modified-by"),
        created_at=timestamp(el, "created-at"),
    )


def decode_entry(el: ET.Element) -> Entry:
    """One ``<entry>`` (§7.1): every field optional except ``eid`` and ``part-type``."""
    return Entry(
        eid=text(el, "eid"),
        part_type=text(el, "part-type"),
        entry_data=opt_text(el, "entry-data"),
        created_at=timestamp(el, "created-at"),
        updated_at=timestamp(el, "updated-at"),
        version=integer(el, "version"),
        last_modified_by=text(el, "last-modified-by"),
        last_modified_verb=text(el, "last-modified-verb"),
        attach_file_name=short_name(el, "attach-file-name"),
        attach_file_size=integer(el, "attach-file-size"),
        attach_content_type=text(el, "attach-content-type"),
        caption=text(el, "caption"),
        change_description=text(el, "change-description"),
        entry_url=text(el, "entry-url"),
        thumb_info=text(el, "thumb-info"),
        snapshot=text(el, "snapshot"),
        user_access=user_access(_child(el, "user-access")),
        number_comments=integer(el, "number-comments"),
        comments=tuple(_comment(c) for c in _items(el, "comments", "comment")),
        nbid=text(el, "nbid"),
        notebook=text(el, "notebook"),
        tree_path=text(el, "tree-path"),
    )


def _entries(root: ET.Element) -> tuple[Entry, ...]:
    return tuple(entry for entry in map(decode_entry, _items(root, "entries", "entry")) if entry.eid)


def decode_page_entries(root: ET.Element) -> PageEntries:
    """``get_entries_for_page``: entries in page order; an empty page has none (§5.3 [LIVE])."""
    _expect_root(root, "tree-tools", "get_entries_for_page")
    entries = _entries(root)
    results = _child(root, "results")
    total = integer(results, "total-returned") if results is not None else None
    return PageEntries(entries=entries, total_returned=total if total is not None else len(entries))


def decode_entry_info(root: ET.Element) -> Entry:
    """``entry_info``: ``<entries><entry>`` (§6.4)."""
    entry = _child(root, "entry")
    if entry is None or not text(entry, "eid"):
        raise UpstreamError("LabArchives entry_info returned no entry", method="entry_info")
    return decode_entry(entry)


def decode_search(root: ET.Element, method: str) -> SearchResults:
    """``entry_search`` and friends: ``<results>`` counts plus ``<entries>`` (§6.5)."""
    _expect_root(root, "search-tools", method)
    entries = _entries(root)
    results = _child(root, "results")
    found = integer(results, "total-found") if results is not None else None
    returned = integer(results, "total-returned") if results is not None else None
    return SearchResults(
        entries=entries,
        total_found=found if found is not None else len(entries),
        total_returned=returned if returned is not None else len(entries),
    )
