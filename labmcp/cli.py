"""Entry points: the MCP server (default) and the subcommands; the one place that reads os.environ."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from labmcp.config import load
from labmcp.errors import ConfigError


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand or run the server; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = load(args, os.environ)
    except ConfigError as exc:
        print(f"labmcp: configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"labmcp {settings.server_version}: server not wired yet", file=sys.stderr)
    return 1
