"""Import only the parts of the MCP SDK (and of httpx) that the chosen transport runs.

Why: start-up and idle memory of a stdio server are almost all imports (issue 20). Importing
``mcp.server.lowlevel`` the ordinary way executes ``mcp/__init__.py`` (the whole client: session
groups, OAuth, the stdio client) and ``mcp/server/__init__.py`` (``MCPServer`` and its resource
machinery), and ``mcp/server/lowlevel/server.py`` itself imports Starlette, the SDK's OAuth routes
and its Streamable HTTP manager (sse-starlette, which pulls uvicorn and click) at module level, for
one method, ``Server.streamable_http_app``. httpx imports its command-line client (click, pygments)
whenever click is installed, and httpcore its HTTP/2 code whenever h2 is (hypercorn needs h2). A
stdio server uses none of it.

What :func:`install` does, once, before anything imports the SDK (``labmcp.cli`` calls it):

1. ``mcp`` and ``mcp.server`` become packages whose ``__init__`` runs on first attribute access
   (``from mcp import Client`` still works: it runs the real ``__init__`` then). Importing a
   submodule (``mcp.server.lowlevel``) needs only the package's ``__path__``.
2. httpx's optional CLI module and httpcore's HTTP/2 modules are marked absent (:data:`BLOCKED`),
   so both libraries take their own ImportError fallbacks.
3. stdio only: ``mcp.server.lowlevel.server`` is imported while the modules in :data:`HTTP_ONLY`
   are stand-ins whose names, if ever used, raise :class:`HTTPStackNotLoaded`. The stand-ins are
   removed again, so a later ``import starlette`` anywhere gets the real package.

The trade-off: this leans on where the SDK (mcp 2.3) imports what. If a new SDK version imports
another HTTP module in ``lowlevel/server.py`` or uses one of these names outside
``streamable_http_app``, ``tests/server/test_sdk_imports.py`` fails and names the difference
(it reads the SDK's source), and the stdio module-set test fails if the HTTP stack comes back by
another route. Upstream, the fix is a lazy import inside ``streamable_http_app``; then this module
shrinks to step 2. Measured effect: see README, Performance.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any, Literal

HTTP_ONLY: dict[str, tuple[str, ...]] = {
    "starlette.applications": ("Starlette",),
    "starlette.middleware": ("Middleware",),
    "starlette.middleware.authentication": ("AuthenticationMiddleware",),
    "starlette.routing": ("Mount", "Route"),
    "mcp.server.auth.middleware.auth_context": ("AuthContextMiddleware",),
    "mcp.server.auth.middleware.bearer_auth": ("BearerAuthBackend", "RequireAuthMiddleware"),
    "mcp.server.auth.provider": ("OAuthAuthorizationServerProvider", "TokenVerifier"),
    "mcp.server.auth.routes": (
        "build_resource_metadata_url",
        "create_auth_routes",
        "create_protected_resource_routes",
    ),
    "mcp.server.auth.settings": ("AuthSettings",),
    "mcp.server.streamable_http": ("EventStore",),
    "mcp.server.streamable_http_manager": (
        "DEFAULT_MAX_SESSIONS",
        "DEFAULT_SESSION_IDLE_TIMEOUT",
        "StreamableHTTPASGIApp",
        "StreamableHTTPSessionManager",
    ),
    "mcp.server.transport_security": ("DEFAULT_MAX_REQUEST_BODY_SIZE", "TransportSecuritySettings"),
}
"""Modules ``mcp/server/lowlevel/server.py`` imports only for ``Server.streamable_http_app``, and the names."""

SERVER_MODULE = "mcp.server.lowlevel.server"
HTTP_METHODS = ("streamable_http_app",)
"""The only functions of :data:`SERVER_MODULE` that use names from :data:`HTTP_ONLY` at run time."""
DEFERRED_PACKAGES = ("mcp", "mcp.server")
BLOCKED = ("httpx._main", "httpcore._async.http2", "httpcore._sync.http2")
"""Optional modules nothing in a server runs: httpx's command-line client (click, pygments) and
httpcore's HTTP/2 connections (h2): our LabArchives client speaks HTTP/1.1, httpx's default, and
httpcore has its own fallback that raises only if HTTP/2 is asked for."""


class HTTPStackNotLoaded(RuntimeError):
    """An HTTP-only name of the SDK was used in a process that imported the SDK for stdio only."""


class _StandIn:
    """What an HTTP-only name is bound to in a stdio process: fails loudly when used."""

    def __init__(self, module: str, name: str) -> None:
        self._where = f"{module}.{name}"

    def __repr__(self) -> str:
        return f"<{self._where}: not loaded (stdio-only process)>"

    def _fail(self) -> HTTPStackNotLoaded:
        return HTTPStackNotLoaded(
            f"{self._where} is not loaded: this process imported the MCP SDK for stdio only "
            "(labmcp.sdk_imports); start it with --transport http to serve HTTP"
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise self._fail()

    def __getattr__(self, name: str) -> Any:
        raise self._fail()


def install(transport: Literal["stdio", "http"]) -> None:
    """Prepare lean SDK imports for ``transport``; a no-op once the SDK is imported (or on a second call)."""
    if "mcp" in sys.modules:
        return
    for name in BLOCKED:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]  # None = "absent" to the import system
    for name in DEFERRED_PACKAGES:
        _defer_package_init(name)
    if transport == "stdio":
        _import_server_without_http()


def _defer_package_init(name: str) -> None:
    """Put ``name`` in sys.modules as its real package with its ``__init__`` not yet run."""
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        raise ImportError(f"{name} is not an importable package")
    package = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def complete(attribute: str) -> Any:
        """PEP 562 hook: the first missing attribute runs the real ``__init__`` in place."""
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        del package.__dict__["__getattr__"]
        loader.exec_module(package)
        return getattr(package, attribute)

    package.__dict__["__getattr__"] = complete
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)


def _import_server_without_http() -> None:
    stand_ins: dict[str, types.ModuleType] = {}
    for module_name, names in HTTP_ONLY.items():
        module = types.ModuleType(module_name, "stand-in: see labmcp.sdk_imports")
        for name in names:
            setattr(module, name, _StandIn(module_name, name))
        stand_ins[module_name] = module
    sys.modules.update(stand_ins)
    try:
        importlib.import_module(SERVER_MODULE)
    finally:
        for module_name, module in stand_ins.items():
            if sys.modules.get(module_name) is module:
                del sys.modules[module_name]
