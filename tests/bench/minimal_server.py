"""The baseline: a minimal MCP server on the same SDK (low-level ``Server``, one trivial tool).

Run as a script: ``minimal_server.py stdio`` (SDK stdio transport under trio), ``minimal_server.py
hypercorn PORT`` (streamable HTTP on hypercorn's trio worker; ``hypercorn-json PORT``: the same with
JSON instead of SSE responses) or ``minimal_server.py uvicorn PORT`` (streamable HTTP on uvicorn,
asyncio: the SDK's default stack; ``uvicorn-json PORT``: with JSON responses).
"""

from __future__ import annotations

import sys
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server

ECHO_SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


async def on_list_tools(
    ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    return types.ListToolsResult(
        tools=[types.Tool(name="echo", description="Echo the text.", input_schema=ECHO_SCHEMA)]
    )


async def on_call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    text = str((params.arguments or {}).get("text", ""))
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)])


def server() -> Server[Any]:
    return Server("minimal", version="0", on_list_tools=on_list_tools, on_call_tool=on_call_tool)


def _http_app(json_response: bool = False) -> Any:
    from mcp.server.transport_security import TransportSecuritySettings  # noqa: PLC0415

    return server().streamable_http_app(
        json_response=json_response,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )


def main(argv: list[str]) -> None:
    mode = argv[0] if argv else "stdio"
    if mode == "stdio":
        import trio  # noqa: PLC0415
        from mcp.server.stdio import stdio_server  # noqa: PLC0415

        async def run() -> None:
            srv = server()
            async with stdio_server() as (read_stream, write_stream):
                await srv.run(read_stream, write_stream, srv.create_initialization_options())

        trio.run(run)
    elif mode in ("hypercorn", "hypercorn-json"):
        import trio  # noqa: PLC0415
        from hypercorn.config import Config  # noqa: PLC0415
        from hypercorn.trio import serve  # noqa: PLC0415

        config = Config()
        config.bind = [f"127.0.0.1:{argv[1]}"]
        config.accesslog = None
        trio.run(serve, _http_app(json_response=mode == "hypercorn-json"), config)
    elif mode in ("uvicorn", "uvicorn-json"):
        import uvicorn  # noqa: PLC0415

        uvicorn.run(
            _http_app(json_response=mode == "uvicorn-json"), host="127.0.0.1", port=int(argv[1]), log_level="warning"
        )
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
