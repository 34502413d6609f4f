"""A page as one Markdown document: provenance first, then its entries framed as untrusted data.

Notebook text is data written by people, not instructions for the assistant reading it (§8.14), so
every entry sits between frame markers that carry a per-answer nonce (``frame.py``; the page is
rendered with a placeholder that ``frame.seal`` fills), and anything inside that reads like a marker
is neutralised. Names in the header are escaped (``escape.escape_text``): one line, no markup. Each
entry is introduced by a line naming its number, part type, id and update time (§7.1, §7.2).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from labmcp.labarchives.models import (
    PART_ATTACHMENT,
    PART_EQUATION,
    PART_HEADING,
    PART_PLAIN_TEXT,
    PART_REFERENCE,
    PART_TEXT,
    PART_WIDGET,
    Entry,
)
from labmcp.notebook.escape import clean, escape_text, safe_url
from labmcp.notebook.frame import end_marker, neutralise, start_marker
from labmcp.notebook.markdown import fenced, format_size, html_to_markdown, replace_data_uris

__all__ = ["FRAME_END", "FRAME_START", "format_size", "render_page"]

FRAME_START: Final = start_marker()
"""The opening marker with the nonce placeholder: ``frame.seal`` puts each answer's nonce in."""
FRAME_END: Final = end_marker()
RAW_MAX_CHARS: Final = 4_000
FIELD_MAX_CHARS: Final = 500
HEADER_MAX_CHARS: Final = 300
_PLAIN_ID: Final = re.compile(r"[\w+/=.:-]{1,200}")
_TAG_START: Final = re.compile(r"<[a-zA-Z/]")
_HEADING_MARK: Final = re.compile(r"(?m)^#{1,6} ")


def _field(text: str) -> str:
    """A notebook-supplied name: one line, bounded, escaped, no frame markers."""
    return escape_text(text, max_chars=HEADER_MAX_CHARS)


def _code(ident: str) -> str:
    """An id as inline code (ids are plain tokens; anything odd is shown escaped instead)."""
    ident = clean(ident)
    if ident and _PLAIN_ID.fullmatch(ident):
        return f"`{ident}`"
    return _field(ident)


def _iso(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else "unknown"


def _truncated(text: str, limit: int = RAW_MAX_CHARS) -> tuple[str, str]:
    """``text`` cut to ``limit`` characters, and a note saying how much was left out (or "")."""
    if len(text) <= limit:
        return text, ""
    return text[:limit], f"\n\n[{len(text) - limit} more characters of this entry not shown]"


def _raw_block(data: str, info: str = "") -> str:
    text, note = _truncated(replace_data_uris(clean(data).strip("\n")))
    return fenced(text, info) + note


def _value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return escape_text(text, max_chars=FIELD_MAX_CHARS)


def _form_fields(data: object) -> list[tuple[str, object]] | None:
    """Name/value pairs of a form's data, whether a mapping or a list of ``{name, value}`` objects."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return None
    if isinstance(data, dict):
        return [(str(k), v) for k, v in data.items()]
    if isinstance(data, list) and all(isinstance(d, dict) and "value" in d for d in data):
        return [(str(d.get("name", d.get("label", d.get("id", "?")))), d["value"]) for d in data]
    return None


def _widget(data: str) -> str:
    """A widget: form fields as a list when the JSON has them (§7.2), else the raw data, cut short."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return _raw_block(data)
    fields = _form_fields(parsed.get("form_data")) if isinstance(parsed, dict) else None
    if fields is None:
        return _raw_block(json.dumps(parsed, indent=2, ensure_ascii=False), "json")
    form = f"Form {_code(str(parsed.get('form_id', '?')))}"
    if "form_version" in parsed:
        form += f", version {_value(parsed['form_version'])}"
    lines = [form + ":", ""] + [f"- {_value(name)}: {_value(value)}" for name, value in fields]
    return "\n".join(lines if fields else [form + ": (no fields)"])


def _attachment(entry: Entry) -> str:
    size = format_size(entry.attach_file_size) if entry.attach_file_size is not None else "unknown size"
    lines = [
        f"Attachment: {_field(entry.attach_file_name) or '(unnamed file)'} — {size}, "
        f"{_field(entry.attach_content_type) or 'unknown type'}"
    ]
    caption = (entry.entry_data or entry.caption).strip()
    if caption:
        lines.append(f"Caption: {_field(caption)}")
    lines.append(f"(Read it with get_attachment, entry_id {_code(entry.eid)}.)")
    return "  \n".join(lines)


def _entry_body(entry: Entry) -> str:
    if entry.part_type == PART_ATTACHMENT:
        return _attachment(entry)
    data = entry.entry_data
    if data is None or not data.strip():
        return "(no content)"
    kind = entry.part_type
    if kind == PART_TEXT:
        body = html_to_markdown(data)
    elif kind == PART_PLAIN_TEXT:
        body = escape_text(replace_data_uris(data), multiline=True)
    elif kind == PART_HEADING:
        # plain text per GOV-ref, but some sites wrap it in HTML (§7.2 [LIVE] UTS)
        if _TAG_START.search(data):
            text = _HEADING_MARK.sub("", html_to_markdown(data))
            body = "## " + " ".join(text.split())
        else:
            body = "## " + escape_text(data)
    elif kind == PART_WIDGET:
        body = _widget(data)
    elif kind == PART_EQUATION:
        body = _raw_block(data, "xml" if data.lstrip().startswith("<") else "latex")
    elif kind == PART_REFERENCE:
        body = _raw_block(data, "xml")
    else:  # sketch, assignment and part types this version does not know (§7.2)
        body = f"({_field(kind)} data, shown raw)\n\n" + _raw_block(data)
    return neutralise(body.strip()) or "(no content)"


def _separator(entry: Entry, number: int, count: int) -> str:
    by = f" by {_field(entry.last_modified_by)}" if entry.last_modified_by else ""
    return (
        f"── Entry {number} of {count} · {_field(entry.part_type)} · id {_code(entry.eid)} · "
        f"updated {_iso(entry.updated_at)}{by} ──"
    )


def render_page(
    *,
    notebook_name: str,
    notebook_id: str,
    folder_path: str,
    page_title: str,
    page_id: str,
    last_modified: str | None,
    link: str,
    entries: Sequence[Entry],
) -> str:
    """The whole page as Markdown: a provenance header, then every entry inside the untrusted frame
    (with the nonce placeholder: pass the text through ``frame.seal`` before sending it)."""
    header = [
        f"# {_field(page_title) or '(untitled page)'}",
        "",
        f"- Notebook: {_field(notebook_name)} (id {_code(notebook_id)})",
        f"- Folder: {_field(folder_path) or '(top level)'}",
        f"- Page: {_field(page_title)} (id {_code(page_id)})",
        f"- Last modified: {_field(last_modified or 'unknown')}",
        f"- Link: {safe_url(link) or '(none)'}",
        f"- Entries: {len(entries)}",
    ]
    parts = [_separator(e, n, len(entries)) + "\n\n" + _entry_body(e) for n, e in enumerate(entries, 1)]
    body = "\n\n".join(parts) if parts else "This page has no entries."
    return "\n".join(header) + f"\n\n{FRAME_START}\n\n{body}\n\n{FRAME_END}\n"
