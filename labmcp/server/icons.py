"""The server's and the tools' icons (MCP 2025-11-25 ``icons``), as ``data:`` URIs of the PNGs in ``labmcp/assets``.

Data URIs need no web host, so they work in air-gapped labs; the same 512 px PNG is the MCP Bundle's icon.
"""

from __future__ import annotations

import base64
from functools import cache
from importlib import resources

import mcp_types as types

SIZES = (32, 512)


def icon_bytes(size: int) -> bytes:
    """The PNG of the icon at ``size`` px (one of ``SIZES``)."""
    return resources.files("labmcp").joinpath(f"assets/icon-{size}.png").read_bytes()


def _icon(size: int) -> types.Icon:
    data = base64.b64encode(icon_bytes(size)).decode("ascii")
    return types.Icon(src=f"data:image/png;base64,{data}", mime_type="image/png", sizes=[f"{size}x{size}"])


@cache
def server_icons() -> list[types.Icon]:
    """Both sizes, for ``serverInfo``: clients pick the one that fits."""
    return [_icon(size) for size in SIZES]


@cache
def tool_icons() -> list[types.Icon]:
    """The small size only: tools/list is read on every session, so it stays lean."""
    return [_icon(SIZES[0])]
