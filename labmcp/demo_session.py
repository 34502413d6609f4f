"""``labmcp demo-session``: a short scripted MCP session against ``--demo``, printing what an
assistant sees (notebooks, a browse, a page read, a search, and a CSV, a PDF and a spreadsheet read as text).

It spawns the server as a subprocess and talks to it with the official SDK client over stdio,
exactly as Claude Desktop would; ``--server`` runs another command (e.g. a built labmcp.pyz).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from typing import Any

import mcp_types as types
import trio
from mcp import Client, StdioServerParameters

RULE = "=" * 78


def _default_server() -> str:
    """Run the server the same way this process runs: from the pyz it came from, or as a module."""
    from labmcp.claude_config import running_archive  # noqa: PLC0415

    archive = running_archive()
    return f"{shlex.quote(sys.executable)} " + (shlex.quote(str(archive)) if archive else "-m labmcp")


def _show(title: str, result: types.CallToolResult, limit: int = 1800) -> None:
    print(f"\n{RULE}\n{title}\n{RULE}")
    for block in result.content:
        if isinstance(block, types.TextContent):
            text = block.text
            print(text if len(text) <= limit else text[:limit] + f"\n[... {len(text) - limit} more characters]")
        elif isinstance(block, types.ImageContent):
            print(f"[image content: {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        else:
            print(f"[{block.type}: {getattr(block, 'uri', '')}]")


def _structured(result: types.CallToolResult) -> dict[str, Any]:
    if result.is_error or not isinstance(result.structured_content, dict):
        raise RuntimeError(f"tool failed: {result.content}")
    return result.structured_content


async def session(command: list[str]) -> None:
    """Drive one demo session; raises if any step fails, so the demo doubles as a smoke test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABARCHIVES_", "LABMCP_"))}
    env["LABARCHIVES_LOG_LEVEL"] = "WARNING"  # the session's output is what the assistant sees, not logs
    params = StdioServerParameters(command=command[0], args=[*command[1:], "--demo"], env=env)
    async with Client(params, mode="legacy") as client:
        tools = await client.list_tools()
        print(f"Connected. Tools: {', '.join(t.name for t in tools.tools)}")
        notebooks = await client.call_tool("list_notebooks", {})
        _show("list_notebooks()", notebooks)
        nb = _structured(notebooks)["notebooks"][0]
        browse = await client.call_tool("browse_notebook", {"notebook_id": nb["id"], "depth": 3})
        _show(f"browse_notebook({nb['name']!r}, depth=3)", browse)
        pages = [item for item in _structured(browse)["items"] if item["kind"] == "page"]
        for page in pages:
            read = await client.call_tool("read_page", {"notebook_id": nb["id"], "page_id": page["id"]})
            if _structured(read)["entry_count"]:
                _show(f"read_page({page['name']!r})", read, limit=2500)
                break
        found = await client.call_tool("search", {"query": "protocol", "limit": 5})
        _show("search('protocol')", found)
        files = await client.call_tool("search_attachments", {"extension": "csv,pdf,xlsx", "notebook_id": nb["id"]})
        _show("search_attachments(extension='csv,pdf,xlsx')", files)
        for kind, what, extra in (
            (".csv", "a CSV", {}),
            (".pdf", "a PDF, pages 1-2", {"pages": "1-2"}),
            (".xlsx", "a spreadsheet", {"max_chars": 2000}),
        ):
            hit = next((r for r in _structured(files)["results"] if r["filename"].lower().endswith(kind)), None)
            if hit is None:
                raise RuntimeError(f"search_attachments found no {kind} file in the demo lab")
            args = {"notebook_id": hit["notebook_id"], "page_id": hit["page_id"], "entry_id": hit["entry_id"], **extra}
            got = await client.call_tool("get_attachment", args)
            _structured(got)
            _show(f"get_attachment({hit['filename']!r}) — {what}", got, limit=2500)
        print(f"\n{RULE}\nDemo finished: every call above went through MCP to the built-in demo notebooks.")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="labmcp demo-session", description=__doc__)
    parser.add_argument(
        "--server",
        default=_default_server(),
        help="command that starts the server (default: this pyz, or this Python's `-m labmcp`)",
    )
    args = parser.parse_args(list(argv))
    try:
        trio.run(session, shlex.split(args.server))
    except Exception as exc:  # the demo's job is to say clearly what failed, not to dump a traceback
        print(f"demo-session failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0
