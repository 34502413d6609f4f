"""The stdio server imports no HTTP stack, and the shim that achieves it still matches the SDK's source.

labmcp.sdk_imports relies on where ``mcp/server/lowlevel/server.py`` imports what and which of its
functions use those names. These tests read that file (the oracle is the SDK itself, not our
table) and fail naming the difference when an SDK upgrade moves something; the session test counts
the modules a real stdio session loads, so the HTTP stack cannot come back by another route.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import mcp.server.lowlevel.server as sdk_server
from mcp import Client, StdioServerParameters

from labmcp import sdk_imports

HTTP_STACK = ("hypercorn", "starlette", "uvicorn", "sse_starlette", "h2", "wsproto", "click", "python_multipart")
"""Top-level packages of an HTTP server stack (and what it drags in) that stdio must not load."""
SDK_HTTP_MODULES = ("mcp.server.auth", "mcp.server.streamable_http", "mcp.server.transport_security", "mcp.server.sse")
ROOT = Path(__file__).resolve().parents[2]


def _sdk_tree() -> ast.Module:
    return ast.parse(Path(sdk_server.__file__).read_text(encoding="utf-8"))


def _is_http(module: str) -> bool:
    return module.split(".", maxsplit=1)[0] in HTTP_STACK or module.startswith(SDK_HTTP_MODULES)


def test_the_stand_in_table_is_exactly_what_the_sdk_server_imports_from_http_modules() -> None:
    tree = _sdk_tree()
    imported: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and _is_http(node.module):
            imported.setdefault(node.module, set()).update(alias.name for alias in node.names)
        if isinstance(node, ast.Import):
            assert not [a.name for a in node.names if _is_http(a.name)], ast.unparse(node)
    ours = {module: set(names) for module, names in sdk_imports.HTTP_ONLY.items()}
    assert imported == ours, "mcp/server/lowlevel/server.py changed its HTTP imports: update HTTP_ONLY"


def _annotation_nodes(tree: ast.AST) -> set[int]:
    """ids of every node inside an annotation (never evaluated: the module uses PEP 563)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None:
                inside.update(id(sub) for sub in ast.walk(annotation))
    return inside


def test_http_names_are_used_only_inside_streamable_http_app() -> None:
    tree = _sdk_tree()
    assert any(
        isinstance(n, ast.ImportFrom) and n.module == "__future__" and any(a.name == "annotations" for a in n.names)
        for n in tree.body
    ), "annotations are evaluated now: the stand-ins would be touched at import"
    names = {name for group in sdk_imports.HTTP_ONLY.values() for name in group}
    annotations = _annotation_nodes(tree)
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in sdk_imports.HTTP_METHODS:
            allowed.update(id(sub) for sub in ast.walk(node))
    misuses = [
        f"line {node.lineno}: {node.id}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and node.id in names and id(node) not in annotations and id(node) not in allowed
    ]
    assert not misuses, f"the SDK uses HTTP-only names outside {sdk_imports.HTTP_METHODS}: {misuses}"
    for method in sdk_imports.HTTP_METHODS:
        assert callable(getattr(sdk_server.Server, method)), method


PROBE = """
import json, sys
from labmcp import sdk_imports
sdk_imports.install("stdio")
from labmcp.runner import run
from labmcp.transports.stdio import serve_stdio
from labmcp.server.app import build_server
from mcp.server.lowlevel import Server
loaded = sorted(name for name, module in sys.modules.items() if module is not None)
try:
    Server("n").streamable_http_app()
    http_error = ""
except sdk_imports.HTTPStackNotLoaded as exc:
    http_error = str(exc)
from mcp import Client  # the deferred package __init__ runs on demand
from mcp.server import MCPServer
import starlette.applications
print(json.dumps({"loaded": loaded, "http_error": http_error, "client": Client.__name__,
                  "mcpserver": MCPServer.__name__, "starlette": starlette.applications.Starlette.__name__}))
"""


def test_install_for_stdio_loads_no_http_stack_yet_the_whole_sdk_stays_importable() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    loaded = report["loaded"]
    assert not [m for m in loaded if m.split(".")[0] in HTTP_STACK or m.startswith(SDK_HTTP_MODULES)]
    assert not [m for m in loaded if m.startswith(("mcp.client", "mcp.server.mcpserver"))]
    assert "stdio only" in report["http_error"]
    assert (report["client"], report["mcpserver"], report["starlette"]) == ("Client", "MCPServer", "Starlette")


RECORDER = """
import atexit, runpy, sys
OUT = sys.argv.pop(1)
def record() -> None:
    with open(OUT, "w") as out:
        out.write("\\n".join(sorted(name for name, module in sys.modules.items() if module is not None)))
atexit.register(record)
runpy.run_module("labmcp", run_name="__main__", alter_sys=True)
"""


async def test_a_whole_stdio_session_loads_no_http_stack(tmp_path: Path) -> None:
    """A real SDK client drives the demo server over stdio; at exit the server writes sys.modules."""
    out = tmp_path / "modules.txt"
    params = StdioServerParameters(command=sys.executable, args=["-c", RECORDER, str(out), "--demo"], cwd=str(ROOT))
    async with Client(params, mode="legacy") as client:
        notebooks = (await client.call_tool("list_notebooks", {})).structured_content
        assert notebooks is not None
        nbid = notebooks["notebooks"][0]["id"]
        await client.call_tool("browse_notebook", {"notebook_id": nbid})
        await client.call_tool("search", {"query": "PCR"})
        await client.list_resources()
    modules = out.read_text(encoding="utf-8").split()
    assert "labmcp.runner" in modules and "labmcp.transports.stdio" in modules
    http = sorted({m for m in modules if m.split(".")[0] in HTTP_STACK or m.startswith(SDK_HTTP_MODULES)})
    assert http == [], f"the stdio server loaded {len(http)} HTTP-stack modules: {http[:20]}"
    assert not [
        m
        for m in modules
        if m.startswith(("mcp.client", "mcp.server.mcpserver", "httpx._main", "httpcore._async.http2"))
    ]
