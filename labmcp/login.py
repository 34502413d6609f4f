"""``labmcp login``: redeem a login email and app token for the LabArchives uid once, print it, store nothing.

The uid (unlike the app token, which expires) is what a long-running server should be configured
with, so this is the one-time step a user takes before editing their MCP client's config (§2.5 B).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import trio

from labmcp.config import LabArchivesSettings
from labmcp.errors import ConfigError, LabArchivesError
from labmcp.labarchives.client import open_client
from labmcp.labarchives.models import User
from labmcp.labarchives.regions import API_BASES, resolve_api_base
from labmcp.observe import NullObserver
from labmcp.secret import Secret


@dataclass(frozen=True, slots=True)
class Prompts:
    """Where the email and token come from: the terminal normally, canned answers in tests."""

    ask: Callable[[str], str] = input
    ask_secret: Callable[[str], str] = getpass.getpass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labmcp login",
        description=(
            "Ask for your LabArchives login email and app token, resolve your user id (uid) and print it. "
            "Needs LABARCHIVES_AKID and LABARCHIVES_SECRET in the environment. The token is not stored."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--region", help=f"{', '.join(API_BASES)} [env LABARCHIVES_REGION] (default us)")
    where.add_argument("--api-base", help="custom API base URL [env LABARCHIVES_API_BASE]")
    return parser


def settings_from(args: argparse.Namespace, environ: Mapping[str, str]) -> LabArchivesSettings:
    """Connection settings from flags, then env; raises ConfigError naming what is missing."""
    akid = environ.get("LABARCHIVES_AKID", "").strip()
    secret = environ.get("LABARCHIVES_SECRET", "").strip()
    if not akid or not secret:
        raise ConfigError("set LABARCHIVES_AKID and LABARCHIVES_SECRET (your institution's API key) first")
    if args.region:
        api_base = resolve_api_base(args.region, None)
    else:
        api_base = resolve_api_base(
            environ.get("LABARCHIVES_REGION", "us"), args.api_base or environ.get("LABARCHIVES_API_BASE")
        )
    return LabArchivesSettings(api_base=api_base, akid=akid, secret=Secret(secret))


async def resolve_user(settings: LabArchivesSettings, email: str, token: Secret) -> User:
    """Sync the clock, then redeem email + app token for the user record (§2.4, §2.5 B).

    The token lives about an hour (§2.1), which is why the uid, not the token, goes into the config.
    """
    async with open_client(settings, NullObserver()) as client:
        await client.sync_clock()
        return await client.user_access_info(email, token)


def report(user: User) -> str:
    """What the user needs next: their uid and the line to put in the MCP client's environment."""
    lines = [f"Signed in as {user.fullname or user.email or 'LabArchives user'} (uid {user.uid})."]
    for notebook in user.notebooks:
        lines.append(f"  notebook {notebook.id}: {notebook.name}{' (default)' if notebook.is_default else ''}")
    # Real uids hold ' ^ $ and the like, so the lines are quoted for the shell and for JSON, never pasted raw.
    powershell = "'" + user.uid.replace("'", "''") + "'"
    lines += [
        "Put the uid in the server's environment instead of email and token. In a POSIX shell:",
        f"  export LABARCHIVES_UID={shlex.quote(user.uid)}",
        "In PowerShell:",
        f"  $env:LABARCHIVES_UID = {powershell}",
        'In Claude Desktop\'s config, inside "env" (or run `labmcp claude-config`):',
        f"  {json.dumps('LABARCHIVES_UID')}: {json.dumps(user.uid)}",
        "The app token was used once and not stored.",
    ]
    return "\n".join(lines)


def run(argv: Sequence[str], environ: Mapping[str, str], prompts: Prompts) -> int:
    """The command without process globals; returns the exit code (2 configuration, 1 refused)."""
    args = build_parser().parse_args(list(argv))
    try:
        settings = settings_from(args, environ)
    except ConfigError as exc:
        print(f"labmcp login: {exc}", file=sys.stderr)
        return 2
    try:
        email = prompts.ask("LabArchives login email: ").strip()
        token = prompts.ask_secret("App token (web UI: menu under your name, LA App authentication): ").strip()
    except (EOFError, KeyboardInterrupt):
        print("\nlabmcp login: cancelled", file=sys.stderr)
        return 1
    if not email or not token:
        print("labmcp login: both the email and the app token are needed", file=sys.stderr)
        return 2
    try:
        user = trio.run(resolve_user, settings, email, Secret(token))
    except LabArchivesError as exc:
        print(f"labmcp login: LabArchives refused: {exc}", file=sys.stderr)
        return 1
    print(report(user))
    return 0


def main(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """``labmcp login [--region R | --api-base URL]``; the environment is read here, at the edge."""
    return run(argv, os.environ if environ is None else environ, Prompts())
