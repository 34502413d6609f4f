"""Entry points: the MCP server (default) and the subcommands; the one place that reads os.environ."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

import trio

from labmcp import log, sdk_imports
from labmcp.config import Settings, load
from labmcp.errors import ConfigError

SUBCOMMANDS = {
    "fake-server": "labmcp.fake.cli",
    "demo-session": "labmcp.demo_session",
    "login": "labmcp.login",
    "claude-config": "labmcp.claude_config",
}


def _secrets(settings: Settings) -> list[str]:
    values = [settings.labarchives.secret.reveal()]
    for optional in (settings.labarchives.token, settings.http.token):
        if optional is not None:
            values.append(optional.reveal())
    return [value for value in values if value]


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch to a subcommand or run the server; returns the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["help"]:
        # `labmcp help` and `labmcp help login` read like every other CLI's help.
        args = [args[1], "--help"] if len(args) > 1 and args[1] in SUBCOMMANDS else ["--help"]
    if args and args[0] in SUBCOMMANDS:
        module = importlib.import_module(SUBCOMMANDS[args[0]])
        code: int = module.main(args[1:])
        return code
    try:
        settings = load(args, os.environ)
    except ConfigError as exc:
        print(f"labmcp: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        log.configure(settings.log, _secrets(settings))
    except OSError as exc:
        print(f"labmcp: configuration error: cannot open the log file: {exc.strerror}", file=sys.stderr)
        return 2
    sdk_imports.install(settings.transport)  # before anything imports the SDK: see its docstring
    from labmcp.runner import run  # noqa: PLC0415  # keeps `--help` and config errors fast

    return trio.run(run, settings)
