"""``search_attachments``: files found by LabArchives' ``attachment_search`` (§6.5), in scope only.

LabArchives finds attachments by extension, update time and terms (file name and caption), across
the notebooks the user can read, plus the Inbox. A hit is shown only when search's proof of
placement (``Searcher.place``) finds its entry id among the entries of a page the scope has placed
by tree ids; Inbox files (no notebook) and anything that cannot be placed are withheld and counted,
never shown: the scope fails closed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from labmcp.digits import ascii_digits_problem
from labmcp.errors import InvalidArgumentError, RequestBudgetError
from labmcp.labarchives.models import Entry
from labmcp.notebook import uris
from labmcp.notebook.answers import Rendered, iso
from labmcp.notebook.escape import escape_text
from labmcp.notebook.frame import new_nonce, seal
from labmcp.notebook.links import Links
from labmcp.notebook.render import FRAME_END, FRAME_START, format_size
from labmcp.notebook.scope import Located, Source
from labmcp.notebook.search import Searcher, page_fields

MAX_RESULTS: Final = 100
MAX_TERMS_CHARS: Final = 500
MAX_EXTENSIONS: Final = 20
_EXTENSION: Final = re.compile(r"[a-z0-9]{1,16}")
_SEPARATORS: Final = re.compile(r"[,\s]+", re.ASCII)


def parse_extensions(raw: str) -> tuple[str, ...]:
    """``"csv, .XLSX"`` -> ``("csv", "xlsx")``: comma or space separated, each ASCII letters and digits
    (1-16, one leading dot allowed), at most ``MAX_EXTENSIONS``; InvalidArgumentError otherwise.

    A list with no extension in it (``",,,"``) is an error, never "files of every type": a filter the
    caller wrote must not silently widen; omitting the argument is how to ask for every type.
    """
    parts = [part for part in _SEPARATORS.split(raw) if part]
    if not parts:
        raise InvalidArgumentError(
            f"extension lists no file extension (got {raw[:40]!r}); give extensions like 'csv,xlsx', "
            "or omit extension to search files of every type"
        )
    if len(parts) > MAX_EXTENSIONS:
        raise InvalidArgumentError(f"extension lists {len(parts)} file extensions; at most {MAX_EXTENSIONS}")
    items: list[str] = []
    for part in parts:
        item = part.removeprefix(".")
        # ASCII before lowering: "\u212a".lower() (the Kelvin sign) is an ASCII "k".
        if not (item.isascii() and _EXTENSION.fullmatch(item.lower())):
            raise InvalidArgumentError(
                "extension must be file extensions like 'csv,xlsx' (ASCII letters and digits, at most 16 "
                f"each), got {part[:40]!r}"
            )
        items.append(item.lower())
    return tuple(dict.fromkeys(items))


def parse_day(raw: str, name: str, *, end: bool) -> datetime:
    """A UTC date (``2026-03-01``, the whole day) or ISO 8601 time as an aware datetime."""
    problem = ascii_digits_problem(raw, name)
    if problem:
        raise InvalidArgumentError(problem)
    text = raw.strip()
    try:
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            day = datetime.combine(datetime.strptime(text, "%Y-%m-%d").date(), time(), tzinfo=UTC)
            return day + timedelta(days=1, seconds=-1) if end else day
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 at +14:00 has no UTC datetime
        raise InvalidArgumentError(f"{name} must be a date like 2026-03-01 (UTC), got {raw!r}") from None


class AttachmentFinder:
    """Runs ``attachment_search`` per notebook in scope and keeps the hits it can place by identity."""

    def __init__(self, source: Source, links: Links, searcher: Searcher) -> None:
        self._source = source
        self._links = links
        self._searcher = searcher

    async def search(
        self,
        terms: str | None = None,
        extension: str | None = None,
        begin_date: str | None = None,
        end_date: str | None = None,
        nbid: str | None = None,
        limit: int = 20,
    ) -> tuple[Rendered, dict[str, object]]:
        """The answer, and facts for the audit line (hits shown and withheld)."""
        terms = " ".join((terms or "").split())
        if len(terms) > MAX_TERMS_CHARS:
            raise InvalidArgumentError(f"terms must be at most {MAX_TERMS_CHARS} characters, got {len(terms)}")
        if not 1 <= limit <= MAX_RESULTS:
            raise InvalidArgumentError(f"limit must be between 1 and {MAX_RESULTS}, got {limit}")
        extensions = parse_extensions(extension) if extension is not None else ()
        begin = parse_day(begin_date, "begin_date", end=False) if begin_date else None
        end = parse_day(end_date, "end_date", end=True) if end_date else None
        if begin and end and begin > end:
            raise InvalidArgumentError("begin_date must not be after end_date")
        hits: list[dict[str, Any]] = []
        withheld = 0
        placed: dict[str, list[Located]] = {}
        complete = True
        try:
            for target in self._searcher.targets(nbid):
                results = await self._source.attachment_search(
                    terms=terms,
                    extension=",".join(extensions),
                    nbid=target,
                    max_to_return=min(5_000, limit * 3),
                    begin_date=iso(begin) or "",
                    end_date=iso(end) or "",
                )
                for entry in results.entries:
                    # LabArchives decides the dates; this check keeps the answer to what was asked even if
                    # its reading of begin_date/end_date differs (§6.5 does not document the format).
                    stamp = entry.updated_at
                    if (begin and stamp and stamp < begin) or (end and stamp and stamp > end):
                        continue
                    if len(hits) >= limit:
                        break
                    hit = await self._searcher.place(entry, target, placed)
                    if hit is None:
                        withheld += 1
                    else:
                        hits.append(self._hit_data(hit.located, hit.entry))
        except RequestBudgetError:
            # The request's call limit (LABARCHIVES_MAX_CALLS_PER_REQUEST) is reached: answer with what is
            # proven so far, and say so; what was read stays cached for the next, narrower call.
            complete = False
        answer = self._render(terms, extensions, begin, end, limit, hits, complete)
        return answer, {"hits": len(hits), "withheld": withheld, "complete": complete}

    def _hit_data(self, located: Located, entry: Entry) -> dict[str, Any]:
        nbid, page_id = located.notebook.id, located.node.tree_id
        return {
            **page_fields(located, self._links),
            "entry_id": entry.eid,
            "filename": entry.attach_file_name,
            "size": entry.attach_file_size,
            "content_type": entry.attach_content_type,
            "caption": entry.caption,
            "updated_at": iso(entry.updated_at),
            "uri": uris.attachment_uri(nbid, page_id, entry.eid),
        }

    def _render(
        self,
        terms: str,
        extensions: tuple[str, ...],
        begin: datetime | None,
        end: datetime | None,
        limit: int,
        hits: list[dict[str, Any]],
        complete: bool,
    ) -> Rendered:
        asked = [f"terms {terms!r}"] if terms else []
        asked += [f"extension {','.join(extensions)}"] if extensions else []
        asked += [f"updated from {iso(begin)}"] if begin else []
        asked += [f"updated until {iso(end)}"] if end else []
        lines = [f"# Attachments: {'; '.join(asked) or 'all'}", "", f"{len(hits)} file(s)."]
        # Names, types and captions are notebook text: escaped, and the list framed like search's (§8.14).
        lines += ["", FRAME_START] if hits else []
        for n, hit in enumerate(hits, 1):
            parts = (hit["notebook_name"], hit["folder_path"], hit["page_title"])
            where = " / ".join(escape_text(p) for p in parts if p)
            size = format_size(hit["size"]) if hit["size"] is not None else "size unknown"
            kind = escape_text(hit["content_type"]) if hit["content_type"] else "type unknown"
            lines += [
                "",
                f"{n}. **{escape_text(hit['filename'] or '')}** ({size}, {kind}), updated {hit['updated_at'] or '?'}",
                f"   {where} — page id `{hit['page_id']}`, entry id `{hit['entry_id']}` — {hit['link']}",
            ]
            if hit["caption"]:
                lines.append(f"   caption: {escape_text(hit['caption'], max_chars=300)}")
        if hits:
            lines += ["", FRAME_END, "", "Read one with get_attachment(notebook_id, page_id, entry_id)."]
        if not complete:
            lines += ["", "Stopped at the per-request limit of LabArchives calls: these are the files proven so far. "
                      "Narrow the search (notebook_id, extension, dates, terms) to see the rest."]  # fmt: skip
        elif len(hits) == limit:
            lines += [
                "",
                f"There may be more: narrow the search (extension, dates, terms) or raise limit (<= {MAX_RESULTS}).",
            ]
        structured = {
            "terms": terms or None,
            "extensions": list(extensions),
            "begin_date": iso(begin),
            "end_date": iso(end),
            "limit": limit,
            "complete": complete,
            "results": hits,
        }
        return Rendered(seal("\n".join(lines), new_nonce()), structured)
