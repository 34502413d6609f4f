"""An institution for OAuth tests: one akid, three researchers with web passwords and their own notebooks.

Who sees what: each researcher sees only their notebooks; every notebook has a page whose text
carries its owner's marker (``MARKERS``), so a test can prove that no answer given to one user
holds another user's marker. Notebook and folder names repeat across users ("Projects") so a
scope by name resolves per user. Names and ids carry the punctuation real ones do (§3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from labmcp.fake.store import Store
from labmcp.labarchives.models import PART_TEXT

AKID: Final = "institution-akid"
PASSWORD: Final = "institution-access-password-8d1e"  # noqa: S105  # test credentials, by design
_T0 = 1_767_600_000


@dataclass(frozen=True, slots=True)
class Researcher:
    """A user of the fake institution: how to sign in, and the marker only their pages contain."""

    uid: str
    email: str
    password: str
    fullname: str
    marker: str
    notebooks: tuple[str, ...]


RESEARCHERS: Final = (
    Researcher(
        "3145926Ali'ce^Lt5358979323846264338327",
        "alice@uni.example",
        "alice-web-pass-1",
        "Alice Ng",
        "MARKER-ALICE-4c1d",
        ("Alice — Neuro Lab", "Alice & Bob's? No: Alice's Methods"),
    ),
    Researcher(
        "2718281Bo'b,8^Lt2845904523536028747135",
        "bob@uni.example",
        "bob-web-pass-2",
        "Bob Okafor",
        "MARKER-BOB-9e27",
        ("Bob — Protein Lab",),
    ),
    Researcher(
        "1414213Car^ol5623730950488016887242096",
        "carol@uni.example",
        "carol-web-pass-3",
        "Carol Diaz",
        "MARKER-CAROL-0b55",
        ("Carol <Imaging> Core",),
    ),
)
MARKERS: Final = tuple(r.marker for r in RESEARCHERS)


def build() -> Store:
    """The store: for each researcher, each notebook has ``Projects/<name> plan`` and a root page."""
    store = Store()
    store.add_akid(AKID, PASSWORD)
    for person in RESEARCHERS:
        user = store.add_user(person.uid, person.email, AKID, person.fullname)
        user.password = person.password
        for number, name in enumerate(person.notebooks):
            nb = store.add_notebook(name, [person.uid], default_for=(person.uid,) if number == 0 else ())
            projects = store.add_folder(nb.nbid, "Projects")
            plan = store.add_page(nb.nbid, f"{person.fullname.split()[0]} plan {number}", projects.tree_id)
            store.add_entry(
                plan.tree_id,
                PART_TEXT,
                f"<p>Plan of {person.fullname}: {person.marker} &amp; notes {number}.</p>",
                owner=person.uid,
                at=_T0 + number,
            )
            readme = store.add_page(nb.nbid, "Read me")
            store.add_entry(
                readme.tree_id, PART_TEXT, f"<p>{person.marker} readme of {name}</p>", owner=person.uid, at=_T0
            )
            store.add_attachment(
                readme.tree_id,
                "counts.csv",
                f"sample,count\n{person.marker},{number + 1}\n".encode(),
                "text/csv",
                owner=person.uid,
                at=_T0,
                caption=f"{person.marker} counts",
            )
    return store
