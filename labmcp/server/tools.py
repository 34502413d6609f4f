"""The MCP surface of the tools: ``tools/list`` and ``tools/call``, dispatched to the notebook service.

The contracts live in ``labmcp.server.catalog``, the argument checks in ``labmcp.server.arguments``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import mcp_types as types

from labmcp.errors import InvalidArgumentError
from labmcp.notebook.answers import Rendered
from labmcp.notebook.service import NotebookService
from labmcp.server.arguments import ToolLimits, ToolSpec, check_arguments
from labmcp.server.catalog import BY_NAME, TOOLS
from labmcp.server.icons import tool_icons


def tool_list(limits: ToolLimits) -> list[types.Tool]:
    """The enabled tools as MCP advertises them; every one is read-only and talks to LabArchives."""
    return [
        types.Tool(
            name=spec.name,
            title=spec.title,
            description=spec.description,
            input_schema=spec.input_schema(limits),
            output_schema=dict(spec.output),
            icons=tool_icons(),
            annotations=types.ToolAnnotations(
                title=spec.title,
                read_only_hint=True,
                destructive_hint=False,
                idempotent_hint=True,
                open_world_hint=True,
            ),
        )
        for spec in TOOLS
        if spec.name in limits.enabled
    ]


def _result(rendered: Rendered) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=rendered.markdown)], structured_content=rendered.structured
    )


def tool_spec(name: str, limits: ToolLimits) -> ToolSpec:
    """The enabled tool of that name; an unknown or disabled one is an InvalidArgumentError naming the others."""
    spec = BY_NAME.get(name)
    if spec is None or name not in limits.enabled:
        available = ", ".join(n for n in BY_NAME if n in limits.enabled)
        why = "is turned off by the administrator (LABMCP_TOOLS)" if spec is not None else "does not exist"
        raise InvalidArgumentError(f"tool {name!r} {why}; available: {available}")
    return spec


async def call_tool(
    service: NotebookService, name: str, arguments: Mapping[str, Any] | None, limits: ToolLimits
) -> types.CallToolResult:
    """Run one tool; raises our errors (mapped by the caller) for bad input or upstream failures."""
    spec = tool_spec(name, limits)
    a = check_arguments(spec, arguments, limits)
    if name == "list_notebooks":
        return _result(await service.list_notebooks())
    if name == "browse_notebook":
        return _result(await service.browse(a["notebook_id"], a["folder_id"], a["depth"]))
    if name == "read_page":
        return _result(await service.read_page(a["notebook_id"], a["page_id"], a["start_index"], a["max_chars"]))
    if name == "recent_changes":
        return _result(await service.recent_changes(a["since"], a["notebook_id"]))
    if name == "search":
        return _result(await service.search(a["query"], a["notebook_id"], a["limit"], a["page"], a["cursor"]))
    if name == "search_attachments":
        found = await service.search_attachments(
            a["terms"], a["extension"], a["begin_date"], a["end_date"], a["notebook_id"], a["limit"]
        )
        return _result(found)
    answer = await service.get_attachment(
        a["notebook_id"], a["page_id"], a["entry_id"], a["start_index"], a["max_chars"], a["pages"]
    )
    result = _result(answer.rendered)
    if answer.image is not None:
        encoded = base64.b64encode(answer.image).decode("ascii")
        result.content.append(types.ImageContent(type="image", data=encoded, mime_type=answer.image_type))
    if answer.rendered.structured.get("returned") in ("link", "thumbnail"):
        result.content.append(
            types.ResourceLink(
                type="resource_link",
                uri=answer.link.uri,
                name=answer.link.name,
                mime_type=answer.link.mime_type,
                size=answer.link.size,
            )
        )
    return result
