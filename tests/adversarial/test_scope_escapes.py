"""Scope escapes: for each scope kind, a corpus of attempts through every tool, resource, template,
completion and prompt to reach what lies outside. Zero leaks, proven two ways: the demo's canary
string (and every out-of-scope title and id) never appears in an answer, and an out-of-scope id is
answered exactly like an id that does not exist."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import mcp_types as types
import pytest
import trio
from mcp.shared.exceptions import MCPError

from labmcp.fake import FakeLabArchives, demo
from labmcp.fake.store import Store, make_id
from labmcp.notebook import uris
from tests.adversarial.support import adversarial_env, leaked_secrets
from tests.e2e.helpers import stdio_client, text_of

pytestmark = pytest.mark.slow

JOURNAL = "Journal Club & <Reading> Notes"
CORE = "Core Facility — Shared Instruments"
NX_NB, NX_NODE, NX_ENTRY = make_id(99991, "Notebook"), make_id(99992, "TreeNode"), make_id(99993, "EntryPart")


@dataclass(frozen=True, slots=True)
class Attempt:
    """One escape attempt: an MCP operation, its arguments, and optionally the same call with the
    out-of-scope ids swapped for nonexistent ones (``swap``: out-of-scope id -> nonexistent id)."""

    op: str
    name: str
    args: dict[str, Any]
    swap: dict[str, str] | None = None

    def twin(self) -> Attempt:
        assert self.swap is not None
        text = json.dumps(self.args)
        for old, new in self.swap.items():
            text = text.replace(json.dumps(old)[1:-1], json.dumps(new)[1:-1])
            text = text.replace(quote(old, safe=""), quote(new, safe=""))
        return Attempt(self.op, self.name, json.loads(text))


@dataclass(frozen=True, slots=True)
class Lab:
    """Ids of the demo lab by name, read from the fake's store."""

    store: Store

    def nb(self, name: str) -> str:
        return next(nb.nbid for nb in self.store.notebooks.values() if nb.name == name)

    def node(self, name: str) -> str:
        return next(n.tree_id for n in self.store.nodes.values() if n.display_text == name)

    def entry_of(self, page: str) -> str:
        return self.store.page_entries(self.node(page))[0].eid

    def attachment(self, filename: str) -> str:
        return next(e.eid for e in self.store.entries.values() if e.attach_file_name == filename)


def scopes(lab: Lab) -> dict[str, tuple[dict[str, str], str, str, list[str]]]:
    """Scope kind -> (env, in-scope notebook, in-scope page, out-of-scope page titles)."""
    default = demo.DEFAULT_NOTEBOOK
    outside_folder = ["Retired samples", "Welcome", "Standard PCR protocol", "Booking rules", "Billing — restricted"]
    outside_journal = ["Retired samples", "Western blot — p53", "PCR colony screen", "Booking rules"]
    return {
        "notebook_id": ({"LABARCHIVES_NOTEBOOK_ID": lab.nb(JOURNAL)}, JOURNAL, "Doudna & Charpentier (2014) — Science", outside_journal),
        "notebook_name": ({"LABARCHIVES_NOTEBOOK_NAME": JOURNAL}, JOURNAL, "Doudna & Charpentier (2014) — Science", outside_journal),
        "folder_path": (
            {"LABARCHIVES_NOTEBOOK_NAME": default, "LABARCHIVES_FOLDER_PATH": "Projects"},
            default, "Western blot — p53", outside_folder,
        ),
        "folder_path_by_id": (
            {"LABARCHIVES_NOTEBOOK_ID": lab.nb(default), "LABARCHIVES_FOLDER_PATH": "Projects/CRISPR knock-out of TP53"},
            default, "Western blot — p53", [*outside_folder, "Blot 2026-01-14", "HEK293T passage log"],
        ),
    }  # fmt: skip


def corpus(lab: Lab, in_name: str, in_page_title: str, out_pages: list[str]) -> list[Attempt]:
    """Every way we know to ask for something outside the scope."""
    in_nb, in_page = lab.nb(in_name), lab.node(in_page_title)
    out_nbs = [nb.nbid for nb in lab.store.notebooks.values() if nb.nbid != in_nb]
    out_folders = [lab.node("Archive (old)"), lab.node("Protocols"), lab.node("Instruments")]
    attempts: list[Attempt] = []
    for nb in out_nbs:
        any_page = next(n.tree_id for n in lab.store.nodes.values() if n.nbid == nb and n.is_page)
        attempts += [
            Attempt("tool", "browse_notebook", {"notebook_id": nb, "depth": 5}, {nb: NX_NB}),
            Attempt("tool", "read_page", {"notebook_id": nb, "page_id": any_page}, {nb: NX_NB, any_page: NX_NODE}),
            Attempt("tool", "search", {"query": demo.CANARY, "notebook_id": nb}, {nb: NX_NB}),
            Attempt("resource", uris.notebook_uri(nb), {}, {nb: NX_NB}),
            Attempt("resource", uris.page_uri(nb, any_page), {}, {nb: NX_NB, any_page: NX_NODE}),
            Attempt("prompt", "trace_experiment", {"notebook_id": nb, "topic": demo.CANARY}, {nb: NX_NB}),
            Attempt("complete_page", "page_id", {"notebook_id": nb}, {nb: NX_NB}),
        ]
    for title in out_pages:
        page = lab.node(title)
        eid = lab.entry_of(title)
        attempts += [
            Attempt("tool", "read_page", {"notebook_id": in_nb, "page_id": page}, {page: NX_NODE}),
            Attempt("tool", "read_page", {"notebook_id": in_nb, "page_id": page, "start_index": 10}, {page: NX_NODE}),
            Attempt("tool", "browse_notebook", {"notebook_id": in_nb, "folder_id": page}, {page: NX_NODE}),
            Attempt(
                "tool",
                "get_attachment",
                {"notebook_id": in_nb, "page_id": page, "entry_id": eid},
                {page: NX_NODE, eid: NX_ENTRY},
            ),
            Attempt(
                "tool", "get_attachment", {"notebook_id": in_nb, "page_id": in_page, "entry_id": eid}, {eid: NX_ENTRY}
            ),
            Attempt("resource", uris.page_uri(in_nb, page), {}, {page: NX_NODE}),
            Attempt("resource", uris.attachment_uri(in_nb, page, eid), {}, {page: NX_NODE, eid: NX_ENTRY}),
            Attempt("resource", uris.attachment_uri(in_nb, in_page, eid), {}, {eid: NX_ENTRY}),
            Attempt("prompt", "summarize_page", {"notebook_id": in_nb, "page_id": page}, {page: NX_NODE}),
            Attempt(
                "prompt", "compare_pages", {"notebook_id": in_nb, "page_a": in_page, "page_b": page}, {page: NX_NODE}
            ),
            # Double-encoded and traversal forms of the same page: refused or not found, never served.
            Attempt("resource", f"{uris.notebook_uri(in_nb)}/pages/{quote(quote(page, safe=''), safe='')}", {}),
            Attempt("resource", f"{uris.page_uri(in_nb, in_page)}/../{quote(page, safe='')}", {}),
            Attempt(
                "resource",
                f"{uris.notebook_uri(in_nb)}/pages/{quote(in_page, safe='')}%2F..%2F{quote(page, safe='')}",
                {},
            ),
        ]
    for folder in out_folders:
        attempts += [
            Attempt(
                "tool", "browse_notebook", {"notebook_id": in_nb, "folder_id": folder, "depth": 5}, {folder: NX_NODE}
            ),
            Attempt("resource", uris.folder_uri(in_nb, folder), {}, {folder: NX_NODE}),
        ]
    nx_attach = lab.attachment("colony_pcr_gel.png")
    attempts += [
        Attempt(
            "tool",
            "get_attachment",
            {"notebook_id": in_nb, "page_id": in_page, "entry_id": nx_attach},
            {nx_attach: NX_ENTRY},
        ),
        Attempt("tool", "list_notebooks", {}),
        Attempt("list", "resources", {}),
        Attempt("list", "templates", {}),
        Attempt("list", "prompts", {}),
        Attempt("resource", uris.NOTEBOOKS_URI, {}),
        Attempt("resource", "labarchives://notebooks/..", {}),
        Attempt("resource", "labarchives://notebooks/%2E%2E/" + quote(out_nbs[0], safe=""), {}),
        Attempt("resource", "file:///etc/passwd", {}),
        Attempt("complete_notebook", "notebook_id", {}),
        Attempt("complete_folder", "folder_id", {"notebook_id": in_nb}),
        Attempt("complete_page", "page_id", {"notebook_id": in_nb}),
        Attempt("complete_prompt", "page_id", {"notebook_id": in_nb}),
    ]
    for query in (
        demo.CANARY,
        f'"{demo.CANARY}"',
        "Retired",
        "Boxes discarded",
        "confocal",
        "Booking",
        "CANARY OR PCR",
        "Hourly rates",
        "p53",
        "passage",
    ):
        attempts.append(Attempt("tool", "search", {"query": query, "limit": 50}))
    return attempts


async def run(client: Any, attempt: Attempt) -> str:
    """The answer to one attempt as text: ``OK:`` or ``ERR:`` followed by everything the client saw."""
    try:
        if attempt.op == "tool":
            result = await client.call_tool(attempt.name, attempt.args)
            return ("ERR:" if result.is_error else "OK:") + text_of(result) + json.dumps(result.structured_content)
        if attempt.op == "resource":
            contents = (await client.read_resource(attempt.name)).contents
            return "OK:" + json.dumps([c.model_dump(mode="json") for c in contents])
        if attempt.op == "prompt":
            got = await client.get_prompt(attempt.name, attempt.args)
            return "OK:" + got.model_dump_json()
        if attempt.op == "list":
            lister = {"resources": client.list_resources, "templates": client.list_resource_templates}
            return "OK:" + (await lister.get(attempt.name, client.list_prompts)()).model_dump_json()
        template = {"complete_notebook": uris.NOTEBOOK_TEMPLATE, "complete_folder": uris.FOLDER_TEMPLATE}.get(
            attempt.op, uris.PAGE_TEMPLATE
        )
        ref: Any = types.ResourceTemplateReference(type="ref/resource", uri=template)
        if attempt.op == "complete_prompt":
            ref = types.PromptReference(type="ref/prompt", name="summarize_page")
        done = await client.complete(ref, {"name": attempt.name, "value": ""}, context_arguments=attempt.args or None)
        return "OK:" + json.dumps(done.completion.values)
    except MCPError as exc:
        return f"ERR:{exc}"


def normalised(answer: str, ids: list[str]) -> str:
    for ident in ids:
        answer = answer.replace(ident, "<ID>").replace(quote(ident, safe=""), "<ID>")
    return answer


@pytest.mark.parametrize("kind", ["notebook_id", "notebook_name", "folder_path", "folder_path_by_id"])
async def test_no_attempt_reaches_outside_the_scope(
    cfake: FakeLabArchives, log_file: Path, figures: dict[str, Any], kind: str
) -> None:
    """Zero leaks per scope kind; each out-of-scope id answers exactly like a nonexistent one."""
    lab = Lab(cfake.store)
    env, in_name, in_page, out_pages = scopes(lab)[kind]
    in_nb = lab.nb(in_name)
    attempts = corpus(lab, in_name, in_page, out_pages)
    # What must never show: the canary, and titles and ids of everything outside the scope.
    outside = {demo.CANARY}
    for title in out_pages:
        node = cfake.store.nodes[lab.node(title)]
        outside |= {title, node.tree_id, *(e.eid for e in cfake.store.page_entries(node.tree_id))}
    for nb in cfake.store.notebooks.values():
        if nb.nbid != in_nb:
            outside |= {nb.name, nb.nbid}
            for node in cfake.store.nodes.values():
                if node.nbid == nb.nbid:
                    # Short generic titles ("2026") also occur inside the scope; ids never do.
                    outside |= {node.tree_id} | ({node.display_text} if len(node.display_text) >= 8 else set())
    leaks: list[str] = []
    unlike: list[str] = []
    with trio.fail_after(120):
        async with stdio_client(adversarial_env(cfake, log_file, **env)) as client:
            for attempt in attempts:
                answer = await run(client, attempt)
                # An id the request itself carried may be echoed back ("page 'X' not found"); anything else may not.
                asked = json.dumps([attempt.name, attempt.args], ensure_ascii=False)
                asked += unquote(attempt.name) + unquote(unquote(attempt.name)) + json.dumps(asked)
                for secret in outside:
                    if secret not in asked and secret in answer:
                        leaks.append(f"{attempt.op} {attempt.name} {attempt.args} leaked {secret!r}: {answer[:200]}")
                leaks += [f"secret {s}" for s in leaked_secrets(answer)]
                if attempt.swap is not None:
                    control = await run(client, attempt.twin())
                    ids = [*attempt.swap, *attempt.swap.values()]
                    if normalised(answer, ids) != normalised(control, ids):
                        unlike.append(f"{attempt.op} {attempt.name}: {answer[:160]!r} vs {control[:160]!r}")
                    if answer.startswith("OK:") and attempt.op not in ("complete_page",):
                        leaks.append(f"{attempt.op} {attempt.name} {attempt.args} succeeded: {answer[:200]}")
    part = figures.setdefault("scope_escapes", {})
    part[kind] = {
        "attempts": len(attempts),
        "compared_with_nonexistent": sum(a.swap is not None for a in attempts),
        "leaks": len(leaks),
        "distinguishable": len(unlike),
    }
    assert not leaks, "\n".join(leaks[:20])
    assert not unlike, "\n".join(unlike[:20])
    assert len(attempts) >= 50
