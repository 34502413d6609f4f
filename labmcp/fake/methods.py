"""The fake's API methods: each takes an authenticated ``Call`` and returns the response root (or bytes).
The search methods are in ``labmcp.fake.search_methods``.

Element names follow §6 and §7.1; where no source shows a layout the choice is marked [INF].
Document order deliberately never puts the id first (§3: clients relying on ``[0]`` break live).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from labmcp.fake.exchange import FakeConfig, FakeRequest, FakeResponse, LAError
from labmcp.fake.store import Entry, Node, Notebook, Store, User
from labmcp.fake.xmlwriter import El, array, boolean, integer, record, text, timestamp
from labmcp.labarchives.models import ROOT_TREE_ID, UserAccess

REGIONS = (
    ("https://api.labarchives.com/api", "US and rest of world"),
    ("https://caapi.labarchives.com/api", "Canada"),
    ("https://auapi.labarchives.com/api", "Australia and New Zealand"),
    ("https://ukapi.labarchives.com/api", "United Kingdom"),
    ("https://euapi.labarchives.com/api", "Europe (outside the UK)"),
)


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated call: the store, config, parameters, calling user and server time (ms)."""

    store: Store
    config: FakeConfig
    params: Mapping[str, str]
    user: User | None
    now_ms: int
    request: FakeRequest

    def require(self, name: str) -> str:
        value = self.params.get(name)
        if value is None or value == "":
            raise LAError(4500)
        return value

    def flag(self, name: str) -> bool:
        """Booleans are compared case-insensitively: labapi sends ``True`` and that works live (§1.2)."""
        return self.params.get(name, "").strip().lower() in {"true", "1", "yes"}

    def number(self, name: str, default: int) -> int:
        value = self.params.get(name, "")
        if value == "":
            return default
        if not value.isascii() or not value.isdigit():
            raise LAError(4529)
        return int(value)

    @property
    def uid(self) -> str:
        assert self.user is not None
        return self.user.uid


def _access(tag: str, access: UserAccess) -> El:
    return record(
        tag,
        boolean("can-read", access.can_read),
        boolean("can-write", access.can_write),
        boolean("can-read-comments", access.can_read_comments),
        boolean("can-write-comments", access.can_write_comments),
    )


def _user(call: Call, user: User) -> El:
    notebooks = [
        record(
            "notebook", boolean("is-default", user.uid in nb.default_for), text("name", nb.name), text("id", nb.nbid)
        )
        for nb in call.store.visible_notebooks(user.uid)
    ]
    return record(
        "users",
        text("fullname", user.fullname),
        text("id", user.uid),
        text("first-name", user.first_name),
        text("last-name", user.last_name),
        text("email", user.email),
        text("orcid", user.orcid),
        boolean("can-own-notebooks", True),
        boolean("is-a-teacher", False),
        boolean("is-a-student", False),
        boolean("is-a-researcher", True),
        text("suborganization", None),
        boolean("auto-login-allowed", True),
        array("notebooks", notebooks),
    )


def user_access_info(call: Call) -> El:
    """Redeem email + app token (§2.5 B) or a sign-in page's auth code (§2.5 A; single use);
    wrong, reused or expired → 4514 with HTTP 404 (§5.3 [LIVE-derived])."""
    email, token = call.require("login_or_email"), call.require("password")
    user = call.store.user_by_email(email)
    expiry = None
    if user is not None and not user.revoked:
        expiry = user.tokens.get(token) or user.auth_codes.pop(token, None)
    if user is None or expiry is None or expiry <= call.now_ms:
        raise LAError(4514)
    return _user(call, user)


def user_info_via_id(call: Call) -> El:
    assert call.user is not None
    return _user(call, call.user)


def max_file_size(call: Call) -> El:
    assert call.user is not None
    return record("users", integer("max-file-size", call.user.max_file_size))


def notebook_of(call: Call) -> Notebook:
    """The notebook ``nbid`` names, when the caller is a member: 4509 unknown, 4501 not a member."""
    notebook = call.store.notebooks.get(call.require("nbid"))
    if notebook is None:
        raise LAError(4509)
    if call.uid not in notebook.members:
        raise LAError(4501)
    return notebook


def notebook_info(call: Call) -> El:
    nb = notebook_of(call)
    return record(
        "notebooks",
        record(
            "notebook",
            text("name", nb.name),
            text("id", nb.nbid),
            boolean("add-entry-to-page-top", False),
            boolean("is-student", nb.is_student),
            text("signing", nb.signing),
            text("site-notebook-id", nb.site_notebook_id or None),
        ),
    )


def _node(call: Call, nb: Notebook, tree_id: str) -> Node:
    node = call.store.nodes.get(tree_id)
    if node is None or node.nbid != nb.nbid:
        raise LAError(4517)  # [INF] the closest documented "does not exist" code for tree ids
    if not call.store.node_access(node, call.uid).can_read:
        raise LAError(4501)
    return node


def _node_fields(call: Call, node: Node) -> tuple[El, ...]:
    return (
        boolean("is-page", node.is_page),
        text("tree-id", node.tree_id),
        text("display-text", node.display_text),
        _access("user-access", call.store.node_access(node, call.uid)),
    )


def get_tree_level(call: Call) -> El:
    """Children of a folder (``0`` = root) that the user can read; no pagination (§6.3)."""
    nb = notebook_of(call)
    parent = call.require("parent_tree_id")
    if parent != ROOT_TREE_ID and _node(call, nb, parent).is_page:
        raise LAError(4517)
    nodes = [n for n in call.store.children(nb.nbid, parent) if call.store.node_access(n, call.uid).can_read]
    return record("tree-tools", array("level-nodes", (record("level-node", *_node_fields(call, n)) for n in nodes)))


def get_node(call: Call) -> El:
    """[INF] ``<tree-tools><node>`` like insert_node's answer, plus entry count and (``node_parent``) parent.

    §6.3 promises only "node title, user access, entry count, display text and other metadata", so the
    parent element is a knob: with ``FakeConfig.node_parent`` off the answer has no ``<parent-tree-id>``.
    """
    nb = notebook_of(call)
    node = _node(call, nb, call.require("tree_id"))
    count = len(call.store.page_entries(node.tree_id)) if node.is_page else 0
    fields = (*_node_fields(call, node), integer("entry-count", count))
    if call.config.node_parent:
        fields = (*fields, text("parent-tree-id", node.parent_id))
    return record("tree-tools", record("node", *fields))


def _entry_url(call: Call, entry: Entry) -> str:
    """[INF] the real link format is undocumented (§6.8): one of the shapes ``FakeConfig.entry_url`` names."""
    web, eid = call.store.web_url, quote(entry.eid, safe="")
    if entry.page_id is None or entry.nbid is None:
        return f"{web}/inbox#{eid}"
    nbid, page = quote(entry.nbid, safe=""), quote(entry.page_id, safe="")
    if call.config.entry_url == "nexus":
        return f"{web}/#/{nbid}/{page}"
    if call.config.entry_url == "opaque":
        return f"{web}/share/{hashlib.sha256(entry.eid.encode()).hexdigest()[:16]}"
    return f"{web}/{nbid}/page/{page}#{eid}"


def entry_element(call: Call, entry: Entry, *, with_data: bool, with_comments: bool, extras: bool = False) -> El:
    """The ``<entry>`` element of §7.1; ``extras`` adds the search fields nbid, notebook, tree-path."""
    store = call.store
    fields: list[El] = [
        text("part-type", entry.part_type),
        text("eid", entry.eid),
        timestamp("created-at", entry.created_at),
        timestamp("updated-at", entry.updated_at),
        integer("version", entry.version),
        text("last-modified-by", entry.last_modified_by),
        text("last-modified-verb", entry.last_modified_verb),
        text("change-description", entry.change_description or None),
        text("thumb-info", ("unique" if entry.thumbnail else "generic") if entry.is_attachment else "none"),
        text("entry-url", _entry_url(call, entry)),
        _access("user-access", store.entry_access(entry, call.uid)),
        integer("number-comments", len(entry.comments)),
    ]
    if entry.is_attachment:
        fields += [
            text("attach-file-name", entry.attach_file_name),
            integer("attach-file-size", len(entry.data)),
            text("attach-content-type", entry.attach_content_type),
            text("caption", entry.caption or None),
        ]
    if with_data:
        fields.append(text("entry-data", entry.entry_data or None))
    if with_comments:
        comments = (
            record(
                "comment",
                text("comment-data", c.text),
                text("cid", c.cid),
                text("created-by", c.created_by),
                timestamp("created-at", c.created_at),
            )
            for c in entry.comments
        )
        fields.append(array("comments", comments))  # [INF] element names of comments are undocumented
    if extras:
        fields += _search_extras(store, entry)
    return record("entry", *fields)


def _search_extras(store: Store, entry: Entry) -> list[El]:
    if entry.page_id is None or entry.nbid is None:
        return [text("tree-path", "Inbox")]  # Inbox entries carry no nbid (§6.5 [SAMPLE])
    path = "/".join(store.path_names(store.nodes[entry.page_id]))
    return [text("nbid", entry.nbid), text("notebook", store.notebooks[entry.nbid].name), text("tree-path", path)]


def get_entries_for_page(call: Call) -> El:
    """Readable entries of a page in page order; an empty page is 200 with total-returned 0 (§5.3)."""
    nb = notebook_of(call)
    page = _node(call, nb, call.require("page_tree_id"))
    if not page.is_page:
        raise LAError(4517)
    entries = [e for e in call.store.page_entries(page.tree_id) if call.store.entry_access(e, call.uid).can_read]
    with_data, with_comments = call.flag("entry_data"), call.flag("comment_data")
    elements = [entry_element(call, e, with_data=with_data, with_comments=with_comments) for e in entries]
    return record(
        "tree-tools",
        record("results", integer("total-returned", len(elements))),
        array("entries", elements),  # [INF] type="array" on <entries> (§12.6)
    )


def _readable_entry(call: Call) -> Entry:
    entry = call.store.entries.get(call.require("eid"))
    if entry is None:
        raise LAError(4512)
    if not call.store.entry_access(entry, call.uid).can_read:
        raise LAError(4501)
    return entry


def entry_info(call: Call) -> El:
    entry = _readable_entry(call)
    element = entry_element(call, entry, with_data=call.flag("entry_data"), with_comments=call.flag("comment_data"))
    return record("entries", element)


def _ascii_fallback(name: str) -> str:
    """Accents dropped (é → e), anything without an ASCII base (細) → ``_``."""
    out = []
    for char in name:
        base = char if char.isascii() else "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii())
        out.append(base or "_")
    return "".join(out)


def content_disposition(file_name: str) -> str:
    """``attachment; filename="…"``, plus RFC 5987 ``filename*`` for non-ASCII names (§7.3 [INF])."""
    fallback = _ascii_fallback(file_name).replace("\\", "_").replace('"', "'")
    value = f'attachment; filename="{fallback}"'
    if not file_name.isascii():
        value += f"; filename*=UTF-8''{quote(file_name, safe='')}"
    return value


def entry_attachment(call: Call) -> FakeResponse:
    """The file bytes with the stored type and the name in Content-Disposition (§6.4)."""
    entry = _readable_entry(call)
    if not entry.is_attachment:
        raise LAError(4511)
    headers = (
        ("Content-Type", entry.attach_content_type or "application/octet-stream"),
        ("Content-Disposition", content_disposition(entry.attach_file_name)),
    )
    return FakeResponse(200, headers, entry.data)


def entry_thumb(call: Call) -> FakeResponse:
    """A PNG thumbnail for image attachments; anything else is 4511 [INF: the real error is undocumented]."""
    entry = _readable_entry(call)
    if not entry.is_attachment or entry.thumbnail is None:
        raise LAError(4511)
    return FakeResponse(200, (("Content-Type", "image/png"),), entry.thumbnail)


def epoch_time(call: Call) -> El:
    """Server time in epoch ms as the root's first child (clients read ``root[0]``, §6.6 [LIVE])."""
    return record("utilities", integer("epoch-time", call.now_ms))


def api_base_urls(call: Call) -> El:
    regions = (record("region", text("url", url), text("description", desc)) for url, desc in REGIONS)
    return record("utilities", array("regions", regions))
