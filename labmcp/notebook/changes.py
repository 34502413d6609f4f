"""Recent changes: LabArchives' ``modified_since`` feed (§6.5), placed by identity like search, grouped by page.

``modified_since`` lists entries changed after a time, newest first, with the same extras as a search hit
(entry id, notebook id, ``tree-path``). Each entry is shown only once ``Searcher.place`` has proven its
entry id on a page inside the scope; the rest (Inbox items, other folders, other notebooks) is withheld,
exactly as search withholds it. Cost: one ``modified_since`` call per notebook in scope, plus what
proving unplaced pages costs (bounded like search, by LABARCHIVES_MAX_CALLS_PER_REQUEST).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from labmcp.digits import ascii_digits_problem
from labmcp.errors import InvalidArgumentError, RequestBudgetError
from labmcp.labarchives.models import Entry
from labmcp.notebook import uris
from labmcp.notebook.answers import Rendered, iso
from labmcp.notebook.escape import escape_text
from labmcp.notebook.excerpts import snippet
from labmcp.notebook.frame import new_nonce, seal
from labmcp.notebook.links import Links
from labmcp.notebook.render import FRAME_END, FRAME_START
from labmcp.notebook.scope import Located, Scope, Source
from labmcp.notebook.search import Searcher, page_fields

MAX_CHANGES: Final = 200
"""Changed entries asked of LabArchives per notebook (``max_to_return``), newest first."""

MAX_AGE: Final = timedelta(days=3660)
_RELATIVE = re.compile(r"([0-9]{1,5})\s*(m|min|h|d|w)", re.IGNORECASE | re.ASCII)
_UNITS: Final = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
SNIPPET_CHARS: Final = 160


def parse_since(text: str, now: datetime) -> datetime:
    """``since`` as a UTC time: ISO-8601 (``2026-11-23``, ``2026-11-23T09:00:00Z``, with an offset) or a
    relative form (``30m``, ``12h``, ``7d``, ``2w``) counted back from ``now``; InvalidArgumentError else."""
    problem = ascii_digits_problem(text, "since")
    if problem:
        raise InvalidArgumentError(problem)
    value = text.strip()
    relative = _RELATIVE.fullmatch(value)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        when = now - timedelta(**{_UNITS[unit]: amount})
    else:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidArgumentError(
                f"since must be an ISO-8601 time (2026-11-23 or 2026-11-23T09:00:00Z) or a relative time "
                f"such as 30m, 12h, 7d or 2w; got {text[:60]!r}"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    try:
        when = when.astimezone(UTC)
    except OverflowError:  # year 1 at +14:00 or year 9999 at -14:00 has no UTC datetime
        raise InvalidArgumentError(f"since is outside the years datetimes can hold; got {text[:60]!r}") from None
    if when > now:
        raise InvalidArgumentError(f"since is in the future ({when:%Y-%m-%dT%H:%M:%SZ})")
    return max(when, now - MAX_AGE)


@dataclass(slots=True)
class _PageChanges:
    """A changed page: its entries without their content (``entry_data`` None; an answer may list
    hundreds of large entries) and each one's snippet, taken while the content was at hand."""

    located: Located
    entries: list[Entry]
    snippets: dict[str, str]

    def add(self, entry: Entry) -> None:
        self.snippets[entry.eid] = snippet(entry, "")[:SNIPPET_CHARS]
        self.entries.append(replace(entry, entry_data=None))


class ChangeFeed:
    """``recent_changes``: what changed since a time, in scope only, newest page first."""

    def __init__(self, source: Source, scope: Scope, links: Links, searcher: Searcher) -> None:
        self._source = source
        self._scope = scope
        self._links = links
        self._searcher = searcher

    async def changed_pages(self, when: datetime, nbid: str | None = None) -> tuple[list[_PageChanges], bool]:
        """Pages in scope with entries changed after ``when`` (newest first) and whether the list is whole."""
        targets = [self._scope.notebook(nbid).id] if nbid else [nb.id for nb in self._scope.notebooks]
        pages: dict[tuple[str, str], _PageChanges] = {}
        placed: dict[str, list[Located]] = {}
        complete = True
        try:
            for target in targets:
                results = await self._source.modified_since(when, nbid=target, max_to_return=MAX_CHANGES)
                complete = complete and results.total_found <= len(results.entries)
                placed.clear()
                for entry in results.entries:
                    hit = await self._searcher.place(entry, target, placed)
                    if hit is None:
                        continue
                    key = (hit.located.notebook.id, hit.located.node.tree_id)
                    pages.setdefault(key, _PageChanges(hit.located, [], {})).add(hit.entry)
        except RequestBudgetError:
            complete = False  # the request's call limit: answer with what is proven
        ordered = sorted(pages.values(), key=lambda p: max(_stamp(e) for e in p.entries), reverse=True)
        for page in ordered:
            page.entries.sort(key=_stamp, reverse=True)
        return ordered, complete

    async def recent_changes(self, since: str, nbid: str | None = None, now: datetime | None = None) -> Rendered:
        now = now or datetime.now(UTC)
        when = parse_since(since, now)
        pages, complete = await self.changed_pages(when, nbid)
        data = [self._page_data(page) for page in pages]
        structured: dict[str, Any] = {
            "since": iso(when),
            "notebook_id": nbid,
            "complete": complete,
            "pages": data,
        }
        markdown = _markdown(when, data, complete, self._searcher.where(nbid), now - when)
        return Rendered(seal(markdown, new_nonce()), structured)

    def _page_data(self, page: _PageChanges) -> dict[str, Any]:
        nb, node = page.located.notebook, page.located.node
        return {
            **page_fields(page.located, self._links),
            "uri": uris.page_uri(nb.id, node.tree_id),
            "changes": [
                {
                    "entry_id": e.eid,
                    "part_type": e.part_type,
                    "updated_at": iso(e.updated_at),
                    "author": e.last_modified_by,
                    "what": e.last_modified_verb,
                    "snippet": page.snippets[e.eid],
                }
                for e in page.entries
            ],
        }


def _stamp(entry: Entry) -> datetime:
    return entry.updated_at or datetime.min.replace(tzinfo=UTC)


def _wider(span: timedelta) -> str:
    """What to try after nothing changed in ``span``: a window longer than the one asked, if any."""
    for days in (30, 365, MAX_AGE.days - 10):
        if span < timedelta(days=days):
            return f"; try an earlier `since` (e.g. {days}d)"
    return ""


def _markdown(when: datetime, pages: list[dict[str, Any]], complete: bool, where: str, span: timedelta) -> str:
    count = sum(len(p["changes"]) for p in pages)
    lines = [
        f"# Changes since {when:%Y-%m-%d %H:%M} UTC",
        "",
        f"{count} changed entr{'y' if count == 1 else 'ies'} on {len(pages)} page(s) in {where}, newest first.",
    ]
    if not pages:
        lines.append(f"Nothing in scope changed in that time{_wider(span)}.")
    else:
        lines += ["", FRAME_START]
    for n, page in enumerate(pages, 1):
        parts = (page["notebook_name"], page["folder_path"], page["page_title"])
        where_page = " / ".join(escape_text(p) for p in parts if p)
        lines += ["", f"{n}. {where_page} — page id `{page['page_id']}` — {page['link']}"]
        for change in page["changes"]:
            who = f" by {escape_text(change['author'])}" if change["author"] else ""
            kind = escape_text(change["part_type"])
            lines.append(f"   - {change['updated_at'] or '?'}{who}: entry `{change['entry_id']}` ({kind})")
            if change["snippet"]:
                lines.append(f"     > {escape_text(change['snippet'])}")
    if pages:
        lines += ["", FRAME_END]
    if not complete:
        lines += ["", "More changes may exist than were checked: narrow with notebook_id or a later since."]
    return "\n".join(lines)
