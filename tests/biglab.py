"""A big lab for the fake: 1,092 folders and 5,460 pages, seven levels deep, built deterministically.

The size of a few years of a busy group (issue 20). Folders branch three ways under six top-level
folders; every folder holds five pages with one short entry each. ``BigLab`` records the ids tests
and benchmarks need, read from the store (never from labmcp's answers).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from labmcp.fake.exchange import FakeConfig
from labmcp.fake.serve import Credentials, FakeLabArchives
from labmcp.fake.store import Node, Store
from labmcp.labarchives.models import PART_TEXT, ROOT_TREE_ID
from labmcp.secret import Secret

AKID = "big-akid"
PASSWORD = "big-access-password-81c2"  # test credentials
EMAIL = "big@example.org"
TOKEN = "big/APP+token"  # test credentials
UID = "big-uid-77"
NOTEBOOK = "Big lab"
FOLDERS = 1_092
PAGES_PER_FOLDER = 5
TOP_FOLDERS = 6
BRANCHING = 3
AT = 1_767_225_600  # 2026-01-01, epoch seconds


@dataclass
class BigLab:
    """The fake and what tests need to know about its tree."""

    fake: FakeLabArchives
    nbid: str
    folders: list[Node] = field(default_factory=list)
    pages: list[Node] = field(default_factory=list)

    @property
    def store(self) -> Store:
        return self.fake.store

    def depth(self, node: Node) -> int:
        """Folders above ``node`` (a top-level page has depth 0)."""
        return len(self.store.path_names(node)) - 1

    def deepest_pages(self) -> list[Node]:
        deepest = max(self.depth(p) for p in self.pages)
        return [p for p in self.pages if self.depth(p) == deepest]

    def top(self, name: str) -> Node:
        return next(n for n in self.store.children(self.nbid, ROOT_TREE_ID) if n.display_text == name)

    def folder_ids_above(self, node: Node) -> list[str]:
        """Tree ids of the folders above ``node``, nearest first."""
        out = []
        current = self.store.nodes.get(node.parent_id)
        while current is not None:
            out.append(current.tree_id)
            current = self.store.nodes.get(current.parent_id)
        return out

    def add_word(self, pages: list[Node], word: str, extra: str = "") -> list[str]:
        """One more text entry holding ``word`` on each page; their entry ids, in order."""
        return [
            self.store.add_entry(p.tree_id, PART_TEXT, f"<p>{word} {extra}</p>", owner=UID, at=AT).eid for p in pages
        ]


def build(now_ms: int, config: FakeConfig | None = None, folders: int = FOLDERS) -> BigLab:
    """The big lab behind a fake whose app token is valid for an hour from ``now_ms``.

    ``folders`` scales it down (the bench's quick run); five pages per folder either way.
    """
    store = Store()
    store.add_akid(AKID, PASSWORD)
    store.add_user(UID, EMAIL, AKID, "Big Lab User")
    store.add_token(UID, TOKEN, now_ms)
    notebook = store.add_notebook(NOTEBOOK, [UID], default_for=(UID,))
    creds = Credentials(AKID, Secret(PASSWORD), EMAIL, Secret(TOKEN), UID)
    lab = BigLab(FakeLabArchives(store, config or FakeConfig(), creds), notebook.nbid)
    queue: deque[Node | None] = deque([None])
    while len(lab.folders) < folders:
        parent = queue.popleft()
        for n in range(TOP_FOLDERS if parent is None else BRANCHING):
            if len(lab.folders) >= folders:
                break
            name = f"Folder {len(lab.folders):04d}" if parent is None else f"{parent.display_text}.{n}"
            folder = store.add_folder(notebook.nbid, name, parent.tree_id if parent else ROOT_TREE_ID)
            lab.folders.append(folder)
            queue.append(folder)
    for folder in lab.folders:
        for n in range(PAGES_PER_FOLDER):
            page = store.add_page(notebook.nbid, f"Page {len(lab.pages):05d}", folder.tree_id)
            lab.pages.append(page)
            store.add_entry(page.tree_id, PART_TEXT, f"<p>Run {len(lab.pages)} of assay {n}.</p>", owner=UID, at=AT)
    return lab
