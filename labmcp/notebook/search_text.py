"""The text of a search answer: the Markdown list of proven hits, framed, with snippets cut to a cap.

Pure functions of the hit data ``labmcp.notebook.search`` gathers; it shortens snippets (``snippet_cap``)
until ``compose_results`` fits the output budget.
"""

from __future__ import annotations

from typing import Any

from labmcp.notebook.escape import escape_text
from labmcp.notebook.render import FRAME_END, FRAME_START


def cut(text: str, cap: int) -> str:
    """``text`` at most ``cap`` characters, an ellipsis marking a cut."""
    return text if len(text) <= cap else text[: max(0, cap - 1)] + "…"


def snippet_cap(length: int, count: int, cap: int, budget: int) -> int:
    """The snippet length that would bring a text of ``length`` (with snippets of ``cap``) within budget."""
    if count == 0:
        return 0
    return cap - -(-(length - budget) // count)


def compose_results(
    query: str,
    page: int,
    data: list[dict[str, Any]],
    cap: int,
    with_links: bool,
    complete: bool,
    next_cursor: str | None,
    total_note: str,
    where: str,
) -> str:
    """The result list in Markdown; every hit of ``data`` is in it, snippets cut at ``cap``."""
    head = f"{len(data)} result(s)" + (f" on result page {page}" if page else "") + f" in {where}."
    lines = [f"# Search: {escape_text(query)}", "", head]
    if total_note:
        lines.append(total_note)
    if not data and complete and not page:
        lines.append(
            'No entry in scope matched. Try other or fewer words, a "quoted phrase" for exact wording, '
            "OR between alternatives (PCR OR qPCR), or leave out notebook_id to search every notebook in "
            "scope; LabArchives searches entry text, captions and file names, not page titles."
        )
    if any(len(d["snippet"]) > cap for d in data):
        lines.append(f"Snippets are shortened to {cap} characters to fit the output budget; read_page shows all.")
    if not with_links and data:
        lines.append("Links to the pages are left out to fit the output budget; each result's `link` field has it.")
    if data:
        lines += ["", FRAME_START]
    for n, hit in enumerate(data, 1):
        where = " / ".join(escape_text(p) for p in (hit["notebook_name"], hit["folder_path"], hit["page_title"]) if p)
        kind = escape_text(hit["part_type"])
        lines += [
            "",
            f"{n}. {where} — entry `{hit['entry_id']}` ({kind}), updated {hit['updated_at'] or '?'}",
            f"   page id `{hit['page_id']}`" + (f" — {hit['link']}" if with_links else ""),
        ]
        if hit["snippet"]:
            lines.append(f"   > {escape_text(cut(hit['snippet'], cap))}")
    if data:
        lines += ["", FRAME_END]
    if complete:
        lines += ["", "Every match has been checked: there are no more results."]
    else:
        lines += ["", f'More results may exist: call search again with cursor="{next_cursor}".']
    return "\n".join(lines)
