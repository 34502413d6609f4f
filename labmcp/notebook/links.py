"""Links to the LabArchives web UI: one builder for every tool and resource.

Links are built from our own web host (derived from the region, or ``LABARCHIVES_WEB_HOST``) and ids;
an upstream ``entry-url`` is never printed, since its form is undocumented (§6.8) and its text is
whatever the answer held. ``safe_link`` is the one gate for any URL that reaches an answer: only
``http``, ``https`` and ``mailto`` pass.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, urlsplit

ALLOWED_SCHEMES: Final = frozenset({"http", "https", "mailto"})


def safe_link(url: str) -> str | None:
    """``url`` if it is an http(s) link with a host or a mailto link, without spaces or controls; else None."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        return None
    if scheme != "mailto" and not parts.hostname:
        return None
    return url


class Links:
    """Browser links to pages of one LabArchives web host (``https://mynotebook.labarchives.com``)."""

    def __init__(self, web_host: str) -> None:
        host = web_host.rstrip("/")
        if safe_link(host) is None or urlsplit(host).scheme not in ("http", "https"):
            raise ValueError(f"web host must be an http(s) URL, got {web_host!r}")
        self.web_host = host

    def page(self, nbid: str, page_id: str) -> str:
        """A page in the web UI; the shape is labapi's ``<web host>/<nbid>/page/<tree id>`` (§6.8, undocumented)."""
        return f"{self.web_host}/{quote(nbid, safe='')}/page/{quote(page_id, safe='')}"
