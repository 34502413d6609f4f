"""The MCP Bundle (``.mcpb``) manifest and the MCP registry entry (``server.json``), built from the code.

The bundle wraps the universal pyz: a desktop client (Claude Desktop) unpacks it, asks the user for the
``user_config`` values (secrets marked ``sensitive`` go to the OS keychain) and runs
``python3 <bundle>/server/labmcp.pyz`` with them as environment variables. The tool list comes from
the server's own table, so the manifest cannot drift from ``tools/list``. Pure functions: the I/O
(staging, ``mcpb validate``/``pack``, hashing) is in ``build_zipapp.py --mcpb``.

Sources: the MCPB manifest spec (``MANIFEST.md`` of modelcontextprotocol/mcpb, version in
``MANIFEST_VERSION``) and the registry's ``server.schema.json`` (modelcontextprotocol/registry).
"""

from __future__ import annotations

from typing import Any

from labmcp import __version__
from labmcp.server.catalog import TOOLS

MANIFEST_VERSION = "0.4"
"""The newest manifest version the official ``mcpb`` 2.1 command line validates (its LATEST_MANIFEST_VERSION)."""

PYTHON_RANGE = ">=3.11 <3.14"
"""The CPython versions the universal pyz carries wheels for (build_zipapp.PYTHONS)."""

ENTRY_POINT = "server/labmcp.pyz"
ICON = "icon.png"
REGISTRY_NAME = "io.github.labmcp/labmcp"
REPOSITORY = "https://github.com/labmcp/labmcp"
SCHEMA_URL = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"

# user_config key -> (env var, title, description, sensitive, required, default)
USER_CONFIG: tuple[tuple[str, str, str, str, bool, bool, str], ...] = (
    (
        "access_key_id",
        "LABARCHIVES_AKID",
        "Access key ID",
        "Your institution's LabArchives API access key id.",
        False,
        True,
        "",
    ),
    (
        "access_password",
        "LABARCHIVES_SECRET",
        "Access password",
        "The access password that goes with the key id (signs every call; never sent).",
        True,
        True,
        "",
    ),
    (
        "uid",
        "LABARCHIVES_UID",
        "User id (uid)",
        "Your LabArchives uid (`labmcp login` prints it). Or give email and app token.",
        True,
        False,
        "",
    ),
    (
        "email",
        "LABARCHIVES_USER",
        "Login email",
        "Your LabArchives login email, used with the app token instead of a uid.",
        False,
        False,
        "",
    ),
    (
        "app_token",
        "LABARCHIVES_TOKEN",
        "App token",
        "The app password token from the LabArchives web UI (valid about an hour), used with the email.",
        True,
        False,
        "",
    ),
    ("region", "LABARCHIVES_REGION", "Region", "us, ca, au, uk, eu or gov.", False, False, "us"),
    (
        "api_base",
        "LABARCHIVES_API_BASE",
        "API base URL",
        "A custom API base URL; wins over the region.",
        False,
        False,
        "",
    ),
    (
        "notebook_name",
        "LABARCHIVES_NOTEBOOK_NAME",
        "Only this notebook",
        "Restrict the server to the notebook of this name.",
        False,
        False,
        "",
    ),
    (
        "notebook_id",
        "LABARCHIVES_NOTEBOOK_ID",
        "Only this notebook id",
        "Restrict the server to this notebook id.",
        False,
        False,
        "",
    ),
    (
        "folder_path",
        "LABARCHIVES_FOLDER_PATH",
        "Only this folder",
        "Restrict to this folder (a/b/c) of that notebook.",
        False,
        False,
        "",
    ),
)


def manifest(version: str = __version__) -> dict[str, Any]:
    """The bundle's ``manifest.json`` as a dict (MCPB manifest ``MANIFEST_VERSION``)."""
    env = {var: f"${{user_config.{key}}}" for key, var, *_ in USER_CONFIG}
    user_config: dict[str, dict[str, Any]] = {}
    for key, _var, title, description, sensitive, required, default in USER_CONFIG:
        field: dict[str, Any] = {"type": "string", "title": title, "description": description, "required": required}
        if sensitive:
            field["sensitive"] = True
        if not required:
            field["default"] = default
        user_config[key] = field
    return {
        "manifest_version": MANIFEST_VERSION,
        "name": "labmcp",
        "display_name": "LabArchives notebooks (read-only)",
        "version": version,
        "description": "Read LabArchives lab notebooks: browse, read pages as Markdown, search, attachments.",
        "long_description": (
            "labmcp lets the assistant read your LabArchives notebooks, never write them: list and browse "
            "notebooks, read pages as clean Markdown with citations back to the page, search with LabArchives' "
            "own search, and read attachments. Optional scope settings restrict it to one notebook or folder. "
            "Needs Python 3.11-3.13 on the computer (python3, or python on Windows)."
        ),
        "author": {"name": "labmcp developers", "url": REPOSITORY},
        "repository": {"type": "git", "url": REPOSITORY},
        "homepage": REPOSITORY,
        "license": "MIT",
        "keywords": ["labarchives", "eln", "lab notebook", "research", "read-only"],
        "icon": ICON,
        "icons": [{"src": ICON, "size": "512x512"}],
        "server": {
            "type": "python",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": "python3",
                "args": ["-I", f"${{__dirname}}/{ENTRY_POINT}"],
                "env": env,
                # Windows installs Python as python.exe (and the py launcher); python3 is a Store stub there.
                "platform_overrides": {"win32": {"command": "python"}},
            },
        },
        "tools": [{"name": spec.name, "description": spec.description} for spec in TOOLS],
        "compatibility": {"platforms": ["darwin", "win32", "linux"], "runtimes": {"python": PYTHON_RANGE}},
        "user_config": user_config,
    }


def server_json(version: str = __version__, mcpb_sha256: str | None = None, image: str | None = None) -> dict[str, Any]:
    """The MCP registry entry: the bundle (with its SHA-256 once built), the container image, the HTTP remote."""
    bundle: dict[str, Any] = {
        "registryType": "mcpb",
        "identifier": f"{REPOSITORY}/releases/download/v{version}/labmcp.mcpb",
        "version": version,
        "transport": {"type": "stdio"},
    }
    if mcpb_sha256 is not None:
        bundle["fileSha256"] = mcpb_sha256
    secrets = {"LABARCHIVES_SECRET", "LABARCHIVES_TOKEN", "LABARCHIVES_UID"}
    container_env = [
        {"name": var, "description": description, "isRequired": required, "isSecret": var in secrets}
        for _key, var, _title, description, _sensitive, required, _default in USER_CONFIG
    ]
    container: dict[str, Any] = {
        "registryType": "oci",
        "identifier": image or f"ghcr.io/labmcp/labmcp:{version}",
        "transport": {"type": "stdio"},
        "runtimeHint": "docker",
        # The image's default command serves HTTP (k8s/Dockerfile); a desktop client runs it over stdio.
        "packageArguments": [{"type": "named", "name": "--transport", "value": "stdio"}],
        "environmentVariables": container_env,
    }
    return {
        "$schema": SCHEMA_URL,
        "name": REGISTRY_NAME,
        "title": "LabArchives notebooks (read-only)",
        "description": "Read LabArchives lab notebooks: browse, read pages as Markdown, search, attachments.",
        "version": version,
        "repository": {"url": REPOSITORY, "source": "github"},
        "websiteUrl": REPOSITORY,
        "icons": [
            {
                "src": f"https://raw.githubusercontent.com/labmcp/labmcp/v{version}/labmcp/assets/icon-512.png",
                "mimeType": "image/png",
                "sizes": ["512x512"],
            }
        ],
        "packages": [bundle, container],
        "remotes": [
            {
                "type": "streamable-http",
                "url": "https://{host}/mcp",
                "headers": [
                    {
                        "name": "Authorization",
                        "description": "Bearer token of the deployment (LABMCP_HTTP_TOKEN), or an OAuth access token",
                        "isRequired": True,
                        "isSecret": True,
                    }
                ],
                "variables": {
                    "host": {"description": "Host name of your institution's labmcp deployment", "isRequired": True}
                },
            }
        ],
    }
