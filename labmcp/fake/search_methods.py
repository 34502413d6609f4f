"""The fake's ``search_tools`` methods (§6.5): entry search, attachment search and modified_since.

Each takes an authenticated ``Call`` and returns the response root; every search answers from the
entries the caller can read, and a search with no match is HTTP 404 like the real server's [DOC].
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from labmcp.fake.exchange import LAError
from labmcp.fake.methods import Call, entry_element, notebook_of
from labmcp.fake.store import Entry
from labmcp.fake.xmlwriter import El, array, integer, record
from labmcp.labarchives.models import PART_TEXT

_TERM = re.compile(r'"([^"]*)"|(\S+)')
_TAG = re.compile(r"<[^>]*>")


def search_terms(query: str) -> list[str]:
    """Words and "quoted phrases", lower-cased; a bare ``AND`` is the default connector and dropped."""
    terms: list[str] = []
    for match in _TERM.finditer(query):
        phrase, word = match.group(1), match.group(2)
        if phrase is not None:
            if phrase.strip():
                terms.append(" ".join(phrase.split()).lower())
        elif word.lower() != "and":
            terms.append(word.lower())
    return terms


def _haystack(entry: Entry) -> str:
    body = html.unescape(_TAG.sub(" ", entry.entry_data)) if entry.part_type == PART_TEXT else entry.entry_data
    return " ".join(" ".join((body, entry.caption, entry.attach_file_name)).split()).lower()


def _readable_entries(call: Call, nbid: str | None) -> list[Entry]:
    store = call.store
    visible = {nb.nbid for nb in store.visible_notebooks(call.uid)}
    if nbid is not None:
        visible &= {notebook_of(call).nbid}
    entries = [e for e in store.entries.values() if e.nbid in visible or (nbid is None and e.nbid is None)]
    return [e for e in entries if store.entry_access(e, call.uid).can_read]


def _search_answer(call: Call, found: list[Entry], shown: list[Entry]) -> El:
    if not found:
        # No-match searches are HTTP 404 [DOC]; the body is undocumented, the code is configurable.
        raise LAError(call.config.search_miss_code, 404, "No entries matched the search")
    with_data = call.flag("entry_data")
    with_comments = call.flag("comment_data")
    items = [entry_element(call, e, with_data=with_data, with_comments=with_comments, extras=True) for e in shown]
    return record(
        "search-tools",
        record("results", integer("total-returned", len(shown)), integer("total-found", len(found))),
        array("entries", items),
    )


def entry_search(call: Call) -> El:
    """Words AND-ed, phrases matched whole, case-insensitive; zero-based ``page_number`` (§6.5)."""
    terms = search_terms(call.require("query"))
    page_size, page_number = call.number("page_size", 10), call.number("page_number", 0)
    if page_size == 0:
        raise LAError(4529)
    nbid = call.params.get("nbid") or None
    found = [e for e in _readable_entries(call, nbid) if terms and all(t in _haystack(e) for t in terms)]
    return _search_answer(call, found, found[page_number * page_size : (page_number + 1) * page_size])


def _utc_bound(call: Call, name: str, end: bool) -> int | None:
    """``begin_date``/``end_date`` (UTC, §6.5) as epoch seconds. The format is undocumented [INF]: the
    fake takes ISO 8601, a bare date meaning that whole day; anything else is 4529."""
    raw = call.params.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return int(day.timestamp()) + (86_399 if end else 0)
        return int(datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC).timestamp())
    except ValueError:
        raise LAError(4529, 400, f"{name} is not a date") from None


def attachment_search(call: Call) -> El:
    """Attachments by extension, update time (``begin_date``..``end_date``, inclusive) and terms
    (AND/OR/EXACT), newest first, capped by ``max_to_return``."""
    begin, end = _utc_bound(call, "begin_date", False), _utc_bound(call, "end_date", True)
    extensions = {x.strip().lower().lstrip(".") for x in call.params.get("extension", "").split(",") if x.strip()}
    connector = call.params.get("term_connector", "AND").upper()
    raw_terms = call.params.get("terms", "")
    terms = [raw_terms.lower()] if connector == "EXACT" else search_terms(raw_terms)
    combine = any if connector == "OR" else all
    found = []
    for entry in _readable_entries(call, call.params.get("nbid") or None):
        if not entry.is_attachment:
            continue
        if extensions and entry.attach_file_name.rsplit(".", 1)[-1].lower() not in extensions:
            continue
        if terms and not combine(t in _haystack(entry) for t in terms):
            continue
        if (begin is not None and entry.updated_at < begin) or (end is not None and entry.updated_at > end):
            continue
        found.append(entry)
    found.sort(key=lambda e: e.updated_at, reverse=True)
    return _search_answer(call, found, found[: call.number("max_to_return", 5000)])


def modified_since(call: Call) -> El:
    """Entries changed after ``since_time`` (``yyyy-mm-ddThh:mm:ssZ``, default the epoch), newest first,
    capped by ``max_to_return`` (§6.5 [DOC]); no match is the search miss, HTTP 404, like every search."""
    raw = call.params.get("since_time", "")
    since = 0
    if raw:
        try:
            since = int(datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())
        except ValueError:
            raise LAError(4529) from None
    found = [e for e in _readable_entries(call, call.params.get("nbid") or None) if e.updated_at > since]
    found.sort(key=lambda e: (e.updated_at, e.eid), reverse=True)
    return _search_answer(call, found, found[: call.number("max_to_return", 5000)])
