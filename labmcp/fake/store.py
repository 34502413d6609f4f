"""The fake LabArchives' in-memory data: keys, users, notebooks, tree nodes, entries and the Inbox.

Plain mutable records plus helpers that tests call to seed or change data at runtime. Ids are
Base64 of internal strings shaped like real ones (spec §3), and every third id is crafted so its
Base64 holds ``+`` and ``/``, which real ids rarely do but clients must survive.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field

from labmcp.labarchives.models import PART_ATTACHMENT, ROOT_TREE_ID, UserAccess

FULL_ACCESS = UserAccess(can_read=True, can_write=True, can_read_comments=True, can_write_comments=True)
NO_ACCESS = UserAccess(can_read=False, can_write=False, can_read_comments=False, can_write_comments=False)
TOKEN_LIFETIME_MS = 60 * 60 * 1000
"""App tokens ("LA App authentication") last about one hour (§2.1)."""
DEFAULT_MAX_FILE_SIZE = 52_428_800


@dataclass(slots=True)
class User:
    """A LabArchives account; ``uid`` works only with the akid it is bound to (§2.1)."""

    uid: str
    email: str
    akid: str
    fullname: str
    first_name: str = ""
    last_name: str = ""
    orcid: str = ""
    tokens: dict[str, int] = field(default_factory=dict)
    """App token -> expiry in server epoch ms."""
    password: str = ""
    """The web login password, for the browser sign-in page (``api_user_login``)."""
    auth_codes: dict[str, int] = field(default_factory=dict)
    """One-time codes from the sign-in page -> expiry in server epoch ms."""
    revoked: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE


@dataclass(slots=True)
class Notebook:
    """A notebook and the users who may see it (per-user visibility, in listing order)."""

    nbid: str
    name: str
    members: list[str] = field(default_factory=list)
    default_for: set[str] = field(default_factory=set)
    signing: str = "SIGNING_NONE"
    is_student: bool = False
    site_notebook_id: str = ""


@dataclass(slots=True)
class Node:
    """A folder or page; ``access`` overrides the members' default full access, per uid."""

    tree_id: str
    nbid: str
    parent_id: str
    display_text: str
    is_page: bool
    access: dict[str, UserAccess] = field(default_factory=dict)


@dataclass(slots=True)
class Comment:
    """A comment on an entry."""

    cid: str
    text: str
    created_by: str
    created_at: int


@dataclass(slots=True)
class Entry:
    """An entry part; ``page_id`` None means the owner's Inbox. Times are epoch seconds."""

    eid: str
    page_id: str | None
    nbid: str | None
    owner: str
    part_type: str
    entry_data: str
    created_at: int
    updated_at: int
    caption: str = ""
    attach_file_name: str = ""
    attach_content_type: str = ""
    data: bytes = b""
    thumbnail: bytes | None = None
    version: int = 1
    last_modified_by: str = ""
    last_modified_verb: str = "entry added via 3rd party app"
    change_description: str = ""
    comments: list[Comment] = field(default_factory=list)
    access: dict[str, UserAccess] = field(default_factory=dict)

    @property
    def is_attachment(self) -> bool:
        return self.part_type == PART_ATTACHMENT


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def make_id(serial: int, kind: str, punctuated: bool = False) -> str:
    """An opaque id like the real ones (§3); ``punctuated`` ids carry ``+``, ``/`` and ``=`` in Base64."""
    inner = f"{serial}.{serial % 9 + 1}|{27 + serial % 5}/{serial}/{kind}|{serial * 13 + 7}.{serial % 7 + 1}"
    if not punctuated:
        return _b64(inner)
    # '?', '>' and '~' are the only ASCII bytes that turn into '+' or '/' (§3 [INF]); try placements.
    for cut, extra in itertools.product(range(len(inner)), ("?~>", "~?>", ">?~?")):
        candidate = _b64(inner[:cut] + extra + inner[cut:])
        if "+" in candidate and "/" in candidate:
            return candidate
    raise AssertionError("no punctuated id found")  # pragma: no cover - the search always succeeds


class Store:
    """All fake LabArchives state; every helper returns the created record for tests to inspect."""

    def __init__(self, web_url: str = "https://mynotebook.labarchives.com") -> None:
        self.web_url = web_url
        self.akids: dict[str, str] = {}
        self.users: dict[str, User] = {}
        self.notebooks: dict[str, Notebook] = {}
        self.nodes: dict[str, Node] = {}
        self.entries: dict[str, Entry] = {}
        self._serial = 1000

    def _next_id(self, kind: str) -> str:
        self._serial += 1
        return make_id(self._serial, kind, punctuated=self._serial % 3 == 0)

    def add_akid(self, akid: str, password: str) -> None:
        self.akids[akid] = password

    def add_user(self, uid: str, email: str, akid: str, fullname: str, orcid: str = "") -> User:
        first, _, last = fullname.partition(" ")
        user = User(uid, email, akid, fullname, first_name=first, last_name=last, orcid=orcid)
        self.users[uid] = user
        return user

    def add_token(self, uid: str, token: str, now_ms: int, lifetime_ms: int = TOKEN_LIFETIME_MS) -> None:
        """Issue an app token for the user, valid from now_ms (server time) for lifetime_ms."""
        self.users[uid].tokens[token] = now_ms + lifetime_ms

    def revoke_uid(self, uid: str) -> None:
        self.users[uid].revoked = True

    def user_by_email(self, email: str) -> User | None:
        return next((u for u in self.users.values() if u.email.casefold() == email.casefold()), None)

    def add_notebook(
        self, name: str, members: list[str], *, default_for: tuple[str, ...] = (), nbid: str = ""
    ) -> Notebook:
        notebook = Notebook(nbid or self._next_id("Notebook"), name, list(members), set(default_for))
        self.notebooks[notebook.nbid] = notebook
        return notebook

    def _add_node(self, nbid: str, parent_id: str, name: str, is_page: bool) -> Node:
        if nbid not in self.notebooks:
            raise KeyError(nbid)
        if parent_id != ROOT_TREE_ID and (parent_id not in self.nodes or self.nodes[parent_id].is_page):
            raise KeyError(parent_id)
        node = Node(self._next_id("TreeNode"), nbid, parent_id, name, is_page)
        self.nodes[node.tree_id] = node
        return node

    def add_folder(self, nbid: str, name: str, parent_id: str = ROOT_TREE_ID) -> Node:
        return self._add_node(nbid, parent_id, name, is_page=False)

    def add_page(self, nbid: str, name: str, parent_id: str = ROOT_TREE_ID) -> Node:
        return self._add_node(nbid, parent_id, name, is_page=True)

    def add_entry(
        self, page_id: str | None, part_type: str, entry_data: str, *, owner: str, at: int, **extra: object
    ) -> Entry:
        """Add an entry to a page (or, with ``page_id`` None, to the owner's Inbox) at epoch second ``at``."""
        nbid = self.nodes[page_id].nbid if page_id is not None else None
        kind = "EntryPart" if page_id is not None else "InboxEntryPart"
        by = self.users[owner].fullname
        entry = Entry(self._next_id(kind), page_id, nbid, owner, part_type, entry_data, at, at, last_modified_by=by)
        for name, value in extra.items():
            setattr(entry, name, value)
        self.entries[entry.eid] = entry
        return entry

    def edit_entry(self, eid: str, entry_data: str, *, by: str, at: int) -> Entry:
        """Change an entry's content as a user does in the web UI: new data, time and version (tests edit
        the lab while a server runs, to see ``modified_since`` and resource updates follow)."""
        entry = self.entries[eid]
        entry.entry_data = entry_data
        entry.updated_at = max(at, entry.updated_at)
        entry.version += 1
        entry.last_modified_by = self.users[by].fullname
        entry.last_modified_verb = "entry updated"
        return entry

    def add_attachment(
        self,
        page_id: str | None,
        file_name: str,
        data: bytes,
        content_type: str,
        *,
        owner: str,
        at: int,
        caption: str = "",
        thumbnail: bytes | None = None,
    ) -> Entry:
        """Add an ``Attachment`` entry; its entry-data is the caption (§7.2)."""
        return self.add_entry(
            page_id,
            PART_ATTACHMENT,
            caption,
            owner=owner,
            at=at,
            caption=caption,
            attach_file_name=file_name,
            attach_content_type=content_type,
            data=data,
            thumbnail=thumbnail,
            last_modified_verb="file uploaded via 3rd party app",
        )

    def add_comment(self, eid: str, text: str, *, by: str, at: int) -> Comment:
        entry = self.entries[eid]
        comment = Comment(self._next_id("Comment"), text, self.users[by].fullname, at)
        entry.comments.append(comment)
        return comment

    def set_node_access(self, tree_id: str, uid: str, access: UserAccess) -> None:
        self.nodes[tree_id].access[uid] = access

    def set_entry_access(self, eid: str, uid: str, access: UserAccess) -> None:
        self.entries[eid].access[uid] = access

    def visible_notebooks(self, uid: str) -> list[Notebook]:
        return [nb for nb in self.notebooks.values() if uid in nb.members]

    def children(self, nbid: str, parent_id: str) -> list[Node]:
        return [n for n in self.nodes.values() if n.nbid == nbid and n.parent_id == parent_id]

    def page_entries(self, page_id: str) -> list[Entry]:
        return [e for e in self.entries.values() if e.page_id == page_id]

    def node_access(self, node: Node, uid: str) -> UserAccess:
        """A node's access for uid: its own override, else its nearest ancestor's, else full for members."""
        if uid not in self.notebooks[node.nbid].members:
            return NO_ACCESS
        current: Node | None = node
        while current is not None:
            if uid in current.access:
                return current.access[uid]
            current = self.nodes.get(current.parent_id)
        return FULL_ACCESS

    def entry_access(self, entry: Entry, uid: str) -> UserAccess:
        if uid in entry.access:
            return entry.access[uid]
        if entry.page_id is None:
            return FULL_ACCESS if entry.owner == uid else NO_ACCESS
        return self.node_access(self.nodes[entry.page_id], uid)

    def path_names(self, node: Node) -> list[str]:
        """Display texts from the notebook root down to and including ``node``."""
        names: list[str] = []
        current: Node | None = node
        while current is not None:
            names.append(current.display_text)
            current = self.nodes.get(current.parent_id)
        return names[::-1]
