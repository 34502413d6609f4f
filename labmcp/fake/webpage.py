"""The demo's page links, served: ``GET /<nbid>/page/<tree id>`` shows a page of the fake as plain HTML.

labmcp cites pages as ``<web host>/<nbid>/page/<tree id>`` (labapi's shape, §6.8). In the demo the
web host is the built-in fake, so without this every citation would be a dead link. The real web UI
needs a signed-in browser; this view is for the demo lab only (``FakeConfig.web_pages``, off unless
the demo turns it on) and shows what the demo user may read. Everything from the store is escaped.
"""

from __future__ import annotations

from html import escape
from urllib.parse import unquote

from labmcp.fake.exchange import FakeResponse
from labmcp.fake.store import Store

_HTML = (("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store"))


def page_ids(path: str) -> tuple[str, str] | None:
    """``(nbid, tree_id)`` of a page link path, else None."""
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[1] == "page" and parts[0] and parts[2]:
        return unquote(parts[0]), unquote(parts[2])
    return None


def render(store: Store, uid: str, nbid: str, tree_id: str) -> FakeResponse:
    """The page as HTML for ``uid`` (the demo user); 404 for anything that user cannot read."""
    node = store.nodes.get(tree_id)
    notebook = store.notebooks.get(nbid)
    visible = {nb.nbid for nb in store.visible_notebooks(uid)}
    if node is None or notebook is None or not node.is_page or node.nbid != nbid or nbid not in visible:
        return FakeResponse(404, _HTML, b"<!doctype html><title>Not found</title><p>No such page.</p>")
    if not store.node_access(node, uid).can_read:
        return FakeResponse(404, _HTML, b"<!doctype html><title>Not found</title><p>No such page.</p>")
    items = []
    for entry in store.page_entries(tree_id):
        if not store.entry_access(entry, uid).can_read:
            continue
        label = entry.attach_file_name or entry.part_type
        text = entry.caption if entry.is_attachment else entry.entry_data
        items.append(f"<li><b>{escape(label)}</b><pre>{escape(text[:2000])}</pre></li>")
    body = (
        f"<!doctype html><meta charset=utf-8><title>{escape(node.display_text)}</title>"
        f"<p>{escape(notebook.name)} — demo notebook served by labmcp's built-in LabArchives stand-in</p>"
        f"<h1>{escape(node.display_text)}</h1><ol>{''.join(items)}</ol>"
    )
    return FakeResponse(200, _HTML, body.encode("utf-8"))
