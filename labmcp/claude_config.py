"""``labmcp claude-config``: print (or merge into Claude Desktop's config) the entry that starts this server.

The entry names the absolute paths of this Python and of this labmcp.pyz (or ``-m labmcp``). Secrets
are placeholders unless the user opts in with ``--from-env``; ``--write`` backs the file up first,
refuses a file that is not valid JSON, and never replaces an entry that does not run labmcp.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import zipimport
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labmcp.errors import ConfigError

PLACEHOLDERS = {
    "LABARCHIVES_AKID": "<access key id from your LabArchives administrator>",
    "LABARCHIVES_SECRET": "<access password that goes with the akid>",
    "LABARCHIVES_UID": "<your uid: run `labmcp login`>",
    "LABARCHIVES_REGION": "us",
}
# Copied from the environment only with --from-env: the four above and the optional scope settings.
FROM_ENV = (*PLACEHOLDERS, "LABARCHIVES_API_BASE", "LABARCHIVES_NOTEBOOK_ID", "LABARCHIVES_NOTEBOOK_NAME")


@dataclass(frozen=True, slots=True)
class Launch:
    """How Claude Desktop should start the server: an interpreter and its arguments."""

    command: str
    args: tuple[str, ...]


def launch_for(executable: str, archive: Path | None) -> Launch:
    """This pyz when running from one, else the installed package."""
    if archive is not None:
        # normpath, not resolve(): a symlink the user keeps pointing at the current release stays the path.
        return Launch(str(Path(executable).absolute()), (os.path.normpath(archive.absolute()),))
    return Launch(str(Path(executable).absolute()), ("-m", "labmcp"))


def running_archive() -> Path | None:
    """The .pyz this process was started from (its ``__main__`` came out of a zip), if any."""
    loader = getattr(sys.modules.get("__main__"), "__loader__", None)
    if isinstance(loader, zipimport.zipimporter):
        return Path(loader.archive)
    return None


def server_entry(launch: Launch, env: Mapping[str, str], demo: bool) -> dict[str, Any]:
    """One ``mcpServers`` value; the demo entry needs no credentials at all."""
    if demo:
        return {"command": launch.command, "args": [*launch.args, "--demo"], "env": {}}
    return {"command": launch.command, "args": list(launch.args), "env": dict(env)}


def entry_env(environ: Mapping[str, str], from_env: bool) -> dict[str, str]:
    """Placeholders, or with ``from_env`` the values set in this environment (placeholders for the rest)."""
    env = dict(PLACEHOLDERS)
    if from_env:
        env.update({key: environ[key] for key in FROM_ENV if environ.get(key)})
    return env


def default_config_path(sys_platform: str, environ: Mapping[str, str], home: Path) -> Path:
    """Where Claude Desktop keeps ``claude_desktop_config.json`` on each OS."""
    if sys_platform == "darwin":
        base = home / "Library" / "Application Support"
    elif sys_platform == "win32":
        appdata = environ.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
    else:
        xdg = environ.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg else home / ".config"
    return base / "Claude" / "claude_desktop_config.json"


def _is_placeholder(value: object) -> bool:
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


def _runs_labmcp(entry: object) -> bool:
    if not isinstance(entry, dict):
        return False
    args = [str(a) for a in entry.get("args", []) if isinstance(a, str)]
    return args[:2] == ["-m", "labmcp"] or any(Path(a).name.startswith("labmcp") and a.endswith(".pyz") for a in args)


def merge(config: object, name: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with ``mcpServers[name]`` set to ``entry``, everything else untouched.

    An existing labmcp entry keeps the env values the user filled in (only missing keys are added);
    an entry of that name that runs something else is refused rather than overwritten.
    """
    if not isinstance(config, dict):
        raise ConfigError("the config file's top level is not a JSON object")
    servers = config.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise ConfigError('"mcpServers" in the config file is not a JSON object')
    new_entry = dict(entry)
    old = servers.get(name)
    if old is not None:
        if not _runs_labmcp(old):
            raise ConfigError(f"an entry {name!r} exists and does not run labmcp; pick another --name")
        env = dict(old["env"]) if isinstance(old.get("env"), dict) else {}
        for key, value in dict(entry.get("env", {})).items():
            if key not in env or _is_placeholder(env[key]) or not _is_placeholder(value):
                env[key] = value
        new_entry["env"] = env
    return {**config, "mcpServers": {**servers, name: new_entry}}


def read_config(path: Path) -> object:
    """The parsed file, ``{}`` when it does not exist yet; ConfigError when it is not valid JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix it or move it away, nothing was changed"
        ) from None


def write_config(path: Path, config: Mapping[str, Any], now: datetime) -> Path | None:
    """Back up the old file (timestamped copy beside it), then replace it atomically; returns the backup."""
    backup = None
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        backup = path.with_name(f"{path.name}.{now.strftime('%Y%m%d-%H%M%S')}.bak")
        backup.write_bytes(path.read_bytes())
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(config, out, indent=2, ensure_ascii=False)
            out.write("\n")
        tmp.replace(path)  # mkstemp's 0600 stays: the file may hold credentials
    finally:
        tmp.unlink(missing_ok=True)
    return backup


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labmcp claude-config",
        description="Print the Claude Desktop config entry that starts this labmcp; --write merges it in.",
    )
    parser.add_argument("--write", action="store_true", help="merge the entry into Claude Desktop's config file")
    parser.add_argument("--config", type=Path, help="config file to merge into (default: Claude Desktop's)")
    parser.add_argument("--name", default="labarchives", help="key of the entry under mcpServers (default %(default)s)")
    parser.add_argument(
        "--from-env",
        action="store_true",
        help="write LABARCHIVES_* values from this environment (secrets included) instead of placeholders",
    )
    parser.add_argument("--demo", action="store_true", help="an entry serving the built-in demo notebooks")
    return parser


def run(
    argv: Sequence[str],
    environ: Mapping[str, str],
    launch: Launch,
    clock: Callable[[], datetime],
) -> int:
    """The command without process globals; exit code 2 when the config file cannot be merged."""
    args = build_parser().parse_args(list(argv))
    entry = server_entry(launch, entry_env(environ, args.from_env), args.demo)
    if not args.write:
        print(json.dumps({"mcpServers": {args.name: entry}}, indent=2, ensure_ascii=False))
        return 0
    path = args.config or default_config_path(sys.platform, environ, Path.home())
    try:
        merged = merge(read_config(path), args.name, entry)
        backup = write_config(path, merged, clock())
    except ConfigError as exc:
        print(f"labmcp claude-config: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"labmcp claude-config: cannot write {path}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"Wrote mcpServers.{args.name} to {path}" + (f" (previous file saved as {backup.name})" if backup else ""))
    placeholders = sorted(k for k, v in merged["mcpServers"][args.name]["env"].items() if _is_placeholder(v))
    if placeholders:
        print(f"Fill in {', '.join(placeholders)} in that file, then restart Claude Desktop.")
    else:
        print("Restart Claude Desktop to load it.")
    return 0


def main(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> int:
    """``labmcp claude-config [--write] [--config PATH] [--name N] [--from-env] [--demo]``."""
    launch = launch_for(sys.executable, running_archive())
    return run(argv, os.environ if environ is None else environ, launch, lambda: datetime.now(UTC))
