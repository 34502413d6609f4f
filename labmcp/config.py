"""Settings parsed once, at the edge, into frozen dataclasses: flags win over env, env over defaults.

``load(argv, environ)`` is pure: it reads nothing but its arguments (a ``--*-file`` flag reads the
named file) and raises ConfigError with one clear line. Nothing below ``cli`` reads ``os.environ``.
Secrets are never accepted as flag values, which would show in ``ps``; use the env var or a file.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn, TypeVar
from urllib.parse import urlsplit

from labmcp import __version__
from labmcp.digits import ascii_digits_problem
from labmcp.errors import ConfigError
from labmcp.labarchives.regions import is_loopback_host, resolve_api_base, resolve_web_host
from labmcp.secret import Secret

T = TypeVar("T")

Transport = Literal["stdio", "http"]
AuthMode = Literal["static", "oauth"]
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, slots=True)
class LabArchivesSettings:
    """How to reach and authenticate against LabArchives, and how politely (§2, §5.4)."""

    api_base: str
    akid: str
    secret: Secret = field(repr=False)
    uid: str | None = None
    user: str | None = None
    token: Secret | None = field(default=None, repr=False)
    request_interval: float = 1.0
    retry_backoff: float = 1.0
    max_attempts: int = 3
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    cache_ttl: float = 300.0
    cache_bytes: int = 8 * 1024 * 1024
    max_response_bytes: int = 4 * 1024 * 1024
    max_download_bytes: int = 4 * 1024 * 1024
    max_calls_per_request: int = 100
    web_host: str = "https://mynotebook.labarchives.com"
    """Where links point (the web UI, §6.8): the region's host, or ``LABARCHIVES_WEB_HOST``."""


@dataclass(frozen=True, slots=True)
class ScopeSettings:
    """What the server may show; all None means every notebook the user can read."""

    notebook_id: str | None = None
    notebook_name: str | None = None
    folder_path: str | None = None
    placement_bytes: int = 12 * 1024 * 1024
    """Byte budget of the placement index (which node sits in which folder, which entry on which page)."""

    @property
    def restricted(self) -> bool:
        return any((self.notebook_id, self.notebook_name, self.folder_path))


@dataclass(frozen=True, slots=True)
class LogSettings:
    """Logging goes to stderr (never stdout in stdio mode) and optionally to a rotating file."""

    level: str = "INFO"
    file: Path | None = None
    max_bytes: int = 10 * 1024 * 1024
    backups: int = 3
    json: bool = False


@dataclass(frozen=True, slots=True)
class HTTPSettings:
    """The Streamable HTTP transport and the health/metrics listener (sidecar mode)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: Secret | None = field(default=None, repr=False)
    allowed_origins: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    health_host: str = "127.0.0.1"
    health_port: int | None = None
    max_body_bytes: int = 1024 * 1024
    max_sessions: int = 100
    max_sessions_per_credential: int = 50
    max_concurrent_requests: int = 32
    max_connections: int = 256
    idle_timeout: float = 300.0
    body_timeout: float = 10.0
    shutdown_grace: float = 10.0
    shutdown_delay: float = 1.0
    readiness_interval: float = 15.0
    stateless: bool = False


@dataclass(frozen=True, slots=True)
class TokenKey:
    """One key of the token key ring: its id and 32 secret bytes (masked in ``repr``)."""

    kid: str
    material: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Who may call the HTTP transport: one static bearer token, or each user signed in over OAuth.

    In ``oauth`` mode labmcp is its own authorization server in front of LabArchives' browser
    sign-in (``api_user_login``); ``keys[0]`` seals new tokens, every key opens them (rotation).
    ``replicas`` is the most server processes sharing the akid (the HPA's maximum): each paces
    its LabArchives calls at ``replicas`` times the interval, so together they keep the rule.
    """

    mode: AuthMode = "static"
    public_url: str = ""
    keys: tuple[TokenKey, ...] = field(default=(), repr=False)
    replicas: int = 1
    max_users: int = 16

    @property
    def resource_url(self) -> str:
        """The protected resource (the MCP endpoint) and the audience of every access token."""
        return self.public_url + "/mcp"


@dataclass(frozen=True, slots=True)
class OutputSettings:
    """Budgets that keep every tool result well under a client's context limit."""

    max_chars: int = 40_000
    max_image_bytes: int = 1024 * 1024
    max_image_side: int = 8000
    max_depth: int = 5
    tools: tuple[str, ...] = ()
    """``LABMCP_TOOLS`` as given: tool names to allow, or ``-name`` entries to deny; empty = every tool."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server needs, decided before any network I/O."""

    labarchives: LabArchivesSettings
    scope: ScopeSettings
    log: LogSettings
    http: HTTPSettings
    output: OutputSettings
    auth: AuthSettings = field(default_factory=AuthSettings)
    transport: Transport = "stdio"
    request_timeout: float = 120.0
    subscription_interval: float = 0.0
    """Seconds between polls of LabArchives' change feed for resource subscriptions; 0 = no subscriptions."""
    server_name: str = "labmcp"
    server_version: str = __version__
    demo: bool = False


# --- the option table: one row per setting, shared by --help and the loader ------------------


@dataclass(frozen=True, slots=True)
class Option:
    """One setting: its flag, env var, help text and default (as shown in --help)."""

    flag: str
    env: str | None
    help: str
    default: str | None = None
    is_bool: bool = False
    secret_file: bool = False


OPTIONS: tuple[Option, ...] = (
    Option("--akid", "LABARCHIVES_AKID", "access key id issued by LabArchives (required)"),
    Option(
        "--secret-file",
        "LABARCHIVES_SECRET",
        "access password (the HMAC key); the env var holds the value, the flag names a file",
        secret_file=True,
    ),
    Option("--uid", "LABARCHIVES_UID", "LabArchives user id; or give --user and the app token"),
    Option("--user", "LABARCHIVES_USER", "login email, resolved to a uid once at start with the token"),
    Option(
        "--token-file",
        "LABARCHIVES_TOKEN",
        "app password token from the LabArchives web UI; env holds the value, the flag names a file",
        secret_file=True,
    ),
    Option("--region", "LABARCHIVES_REGION", "us, ca, au, uk, eu or gov", "us"),
    Option("--api-base", "LABARCHIVES_API_BASE", "custom API base URL; wins over --region"),
    Option(
        "--web-host",
        "LABARCHIVES_WEB_HOST",
        "web UI host for links to pages (default: the region's, e.g. https://mynotebook.labarchives.com)",
    ),
    Option("--notebook-id", "LABARCHIVES_NOTEBOOK_ID", "restrict to this notebook id"),
    Option("--notebook-name", "LABARCHIVES_NOTEBOOK_NAME", "restrict to the notebook of this name"),
    Option("--folder-path", "LABARCHIVES_FOLDER_PATH", "restrict to this folder (a/b/c) of the notebook"),
    Option(
        "--placement-bytes",
        "LABMCP_PLACEMENT_BYTES",
        "byte budget of the index of where pages and entries sit (scope proofs)",
        "12582912",
    ),
    Option("--request-interval", "LABARCHIVES_REQUEST_INTERVAL", "seconds between upstream calls", "1.0"),
    Option("--retry-backoff", "LABARCHIVES_RETRY_BACKOFF", "first retry back-off in seconds", "1.0"),
    Option("--max-attempts", "LABARCHIVES_MAX_ATTEMPTS", "attempts per call for 5xx/timeouts (1-3)", "3"),
    Option("--connect-timeout", "LABARCHIVES_CONNECT_TIMEOUT", "upstream connect timeout, seconds", "10"),
    Option("--read-timeout", "LABARCHIVES_READ_TIMEOUT", "upstream read timeout, seconds", "30"),
    Option("--cache-ttl", "LABARCHIVES_CACHE_TTL", "seconds to cache notebook lists and tree levels; 0 = off", "300"),
    Option("--cache-bytes", "LABARCHIVES_CACHE_BYTES", "memory the cache may hold, bytes (0 = off)", "8388608"),
    Option(
        "--max-response-bytes",
        "LABARCHIVES_MAX_RESPONSE_BYTES",
        "cap on an XML response, on the wire and after each decoding step",
        "4194304",
    ),
    Option("--max-download-bytes", "LABARCHIVES_MAX_DOWNLOAD_BYTES", "cap on an attachment download", "4194304"),
    Option(
        "--max-calls-per-request",
        "LABARCHIVES_MAX_CALLS_PER_REQUEST",
        "most LabArchives calls (retries included) one MCP request may cost",
        "100",
    ),
    Option("--max-output-chars", "LABMCP_MAX_OUTPUT_CHARS", "budget of one tool result, characters", "40000"),
    Option("--max-image-bytes", "LABMCP_MAX_IMAGE_BYTES", "largest image returned inline (0: never inline)", "1048576"),
    Option("--max-image-side", "LABMCP_MAX_IMAGE_SIDE", "widest or tallest image returned inline, pixels", "8000"),
    Option("--max-depth", "LABMCP_MAX_DEPTH", "deepest browse_notebook depth allowed", "5"),
    Option("--tools", "LABMCP_TOOLS", "comma list of tools to offer, or of -tool entries to hide; default all"),
    Option(
        "--subscription-interval",
        "LABMCP_SUBSCRIPTION_INTERVAL",
        "seconds between change-feed polls for resource subscriptions (>= 1); 0 = subscriptions off",
        "0",
    ),
    Option("--log-level", "LABARCHIVES_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR or CRITICAL", "INFO"),
    Option("--log-file", "LABARCHIVES_LOG_FILE", "also log to this file, rotated by size"),
    Option("--log-max-bytes", "LABARCHIVES_LOG_MAX_BYTES", "rotate the log file at this size", "10485760"),
    Option("--log-backups", "LABARCHIVES_LOG_BACKUPS", "rotated log files to keep", "3"),
    Option("--log-json", "LABARCHIVES_LOG_JSON", "log JSON lines instead of text", is_bool=True),
    Option("--verbose", "LABARCHIVES_VERBOSE", "shorthand for --log-level DEBUG", is_bool=True),
    Option("--server-name", "MCP_SERVER_NAME", "name announced to MCP clients", "labmcp"),
    Option("--server-version", "MCP_SERVER_VERSION", "version announced to MCP clients", __version__),
    Option("--transport", "LABMCP_TRANSPORT", "stdio or http", "stdio"),
    Option("--host", "LABMCP_HOST", "HTTP transport bind address", "127.0.0.1"),
    Option("--port", "LABMCP_PORT", "HTTP transport port", "8080"),
    Option(
        "--http-token-file",
        "LABMCP_HTTP_TOKEN",
        "bearer token required by the HTTP transport (mandatory off loopback)",
        secret_file=True,
    ),
    Option("--allowed-origins", "LABMCP_ALLOWED_ORIGINS", "comma list of Origin values accepted over HTTP"),
    Option(
        "--allowed-hosts",
        "LABMCP_ALLOWED_HOSTS",
        "comma list of host names (any port) or host:port accepted in Host over HTTP; * = any",
    ),
    Option("--health-host", "LABMCP_HEALTH_HOST", "health/metrics listener bind address", "127.0.0.1"),
    Option(
        "--health-port",
        "LABMCP_HEALTH_PORT",
        "health/metrics port (default 8000 with --transport http, off with stdio)",
    ),
    Option("--max-body-bytes", "LABMCP_MAX_BODY_BYTES", "largest message: HTTP request body or stdio line", "1048576"),
    Option("--max-sessions", "LABMCP_MAX_SESSIONS", "most concurrent MCP HTTP sessions", "100"),
    Option(
        "--max-sessions-per-credential",
        "LABMCP_MAX_SESSIONS_PER_CREDENTIAL",
        "most concurrent MCP HTTP sessions of one credential",
        "50",
    ),
    Option("--max-concurrent-requests", "LABMCP_MAX_CONCURRENT_REQUESTS", "most requests served at once", "32"),
    Option(
        "--max-connections",
        "LABMCP_MAX_CONNECTIONS",
        "most open connections to the MCP port; at the cap the one idle longest is closed",
        "256",
    ),
    Option("--idle-timeout", "LABMCP_IDLE_TIMEOUT", "close idle HTTP sessions after seconds", "300"),
    Option("--body-timeout", "LABMCP_BODY_TIMEOUT", "seconds an HTTP request body may take to arrive", "10"),
    Option(
        "--request-timeout",
        "LABMCP_REQUEST_TIMEOUT",
        "total seconds one MCP request may take before it is answered with an error",
        "120",
    ),
    Option("--shutdown-grace", "LABMCP_SHUTDOWN_GRACE", "seconds in-flight calls get on SIGTERM", "10"),
    Option(
        "--shutdown-delay",
        "LABMCP_SHUTDOWN_DELAY",
        "seconds readiness reports 503 on SIGTERM before the HTTP listener closes",
        "1",
    ),
    Option(
        "--readiness-interval",
        "LABMCP_READINESS_INTERVAL",
        "seconds between upstream checks when no call proved LabArchives reachable",
        "15",
    ),
    Option(
        "--stateless",
        "LABMCP_STATELESS",
        "serve Streamable HTTP without sessions, so any replica can answer any request",
        is_bool=True,
    ),
    Option("--auth", "LABMCP_AUTH", "static (one bearer token, one uid) or oauth (each user signs in)", "static"),
    Option("--public-url", "LABMCP_PUBLIC_URL", "oauth: the URL clients reach (https://host); token audience"),
    Option(
        "--token-keys-file",
        "LABMCP_TOKEN_KEYS_FILE",
        "oauth: file of kid=<base64 of 32 random bytes> lines; the first seals tokens, all open them",
    ),
    Option(
        "--replicas",
        "LABMCP_REPLICAS",
        "replicas sharing the akid (HPA maximum); each paces at interval x this",
        "1",
    ),
    Option("--max-users", "LABMCP_MAX_USERS", "oauth: signed-in users whose notebook caches are kept", "16"),
    Option("--demo", "LABMCP_DEMO", "serve the built-in demo notebooks (no credentials needed)", is_bool=True),
)

# An MCP Bundle host that leaves an optional, unset user_config field unsubstituted passes the placeholder
# itself; no real setting looks like that, so it counts as unset (labmcp/bundle.py maps the fields).
_UNFILLED = re.compile(r"\$\{user_config\.[A-Za-z0-9_]+\}")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises ConfigError instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise ConfigError(message)


def _dest(flag: str) -> str:
    return flag.removeprefix("--").replace("-", "_")


def build_parser(prog: str = "labmcp") -> argparse.ArgumentParser:
    """The serve command's parser; its --help lists every flag with its env var and default."""
    parser = _Parser(
        prog=prog,
        allow_abbrev=False,
        description="Read-only MCP server for LabArchives notebooks. Flags win over env vars.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Subcommands: login, claude-config, demo-session, fake-server (see `labmcp help <subcommand>`).",
    )
    parser.add_argument("--version", action="version", version=f"labmcp {__version__}")
    for opt in OPTIONS:
        extra = f" [env {opt.env}]" if opt.env else ""
        if opt.default is not None:
            extra += f" (default {opt.default})"
        if opt.is_bool:
            parser.add_argument(opt.flag, action="store_const", const="true", default=None, help=opt.help + extra)
        else:
            parser.add_argument(opt.flag, default=None, metavar=_dest(opt.flag).upper(), help=opt.help + extra)
    return parser


def _read_secret_file(path: str, flag: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"{flag}: cannot read {path!r}: {exc.strerror}") from None


class _Raw:
    """Raw string values with their origin, for error messages that name the right knob."""

    def __init__(self, ns: argparse.Namespace, environ: Mapping[str, str]) -> None:
        self.values: dict[str, str | None] = {}
        self.origin: dict[str, str] = {}
        for opt in OPTIONS:
            key = _dest(opt.flag)
            flag_value = getattr(ns, key)
            if flag_value is not None:
                value: str | None = _read_secret_file(flag_value, opt.flag) if opt.secret_file else flag_value
                self.origin[key] = opt.flag
            elif opt.env and environ.get(opt.env) is not None:
                value = environ[opt.env]
                self.origin[key] = opt.env
            else:
                value = opt.default
                self.origin[key] = opt.flag
            self.values[key] = value

    def text(self, key: str) -> str | None:
        value = self.values[key]
        if value is None or not value.strip() or _UNFILLED.fullmatch(value.strip()):
            return None
        return value.strip()

    def convert(self, key: str, kind: str, conv: Callable[[str], T], check: Callable[[T], bool]) -> T:
        raw = self.text(key)
        if raw is None:
            raise ConfigError(f"{self.origin[key]} must be {kind}")
        problem = ascii_digits_problem(raw, self.origin[key])
        if problem:
            raise ConfigError(problem)
        try:
            value = conv(raw)
        except ValueError:
            raise ConfigError(f"{self.origin[key]} must be {kind}, got {raw!r}") from None
        if not check(value):
            raise ConfigError(f"{self.origin[key]} must be {kind}, got {raw!r}")
        return value

    def number(self, key: str, minimum: float = 0.0) -> float:
        return self.convert(key, f"a number >= {minimum:g}", float, lambda v: math.isfinite(v) and v >= minimum)

    def integer(self, key: str, minimum: int = 0, maximum: int | None = None) -> int:
        kind = f"an integer >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
        return self.convert(key, kind, int, lambda v: v >= minimum and (maximum is None or v <= maximum))

    def flag(self, key: str) -> bool:
        raw = (self.values[key] or "").strip().lower()
        if raw in _TRUE:
            return True
        if raw in _FALSE:
            return False
        raise ConfigError(f"{self.origin[key]} must be true or false, got {raw!r}")

    def listing(self, key: str) -> tuple[str, ...]:
        raw = self.text(key) or ""
        return tuple(part.strip() for part in raw.split(",") if part.strip())


def load(argv: Sequence[str], environ: Mapping[str, str], *, demo_base: str | None = None) -> Settings:
    """Parse flags and env into Settings, or raise ConfigError naming the first bad setting.

    In demo mode the LabArchives credentials are filled in by the demo runner, so they are not
    required here; ``demo_base`` lets the caller supply the fake's URL.
    """
    ns = build_parser().parse_args(list(argv))
    raw = _Raw(ns, environ)
    demo = raw.flag("demo")
    transport = (raw.text("transport") or "").lower()
    if transport not in ("stdio", "http"):
        raise ConfigError(f"{raw.origin['transport']} must be stdio or http, got {transport!r}")
    auth = _auth(raw, transport)
    return Settings(
        labarchives=_labarchives(raw, demo or auth.mode == "oauth", demo_base),
        scope=_scope(raw),
        log=_log(raw),
        http=_http(raw, transport, auth),
        output=OutputSettings(
            max_chars=raw.integer("max_output_chars", 2000, 400_000),
            max_image_bytes=raw.integer("max_image_bytes", 0),
            max_image_side=raw.integer("max_image_side", 1),
            max_depth=raw.integer("max_depth", 1, 20),
            tools=raw.listing("tools"),
        ),
        auth=auth,
        transport="http" if transport == "http" else "stdio",
        request_timeout=raw.number("request_timeout", 0.001),
        subscription_interval=_interval(raw),
        server_name=raw.text("server_name") or "labmcp",
        server_version=raw.text("server_version") or __version__,
        demo=demo,
    )


def _interval(raw: _Raw) -> float:
    """0 (off) or at least 1 s: a poll is one LabArchives call per notebook, in the same pacer."""
    value = raw.number("subscription_interval")
    if 0 < value < 1:
        raise ConfigError(f"{raw.origin['subscription_interval']} must be 0 (off) or at least 1 second, got {value:g}")
    return value


def _labarchives(raw: _Raw, no_user: bool, demo_base: str | None) -> LabArchivesSettings:
    """The akid and its password; the user (uid, or email + token) unless demo or oauth supply it."""
    akid = raw.text("akid")
    secret = raw.text("secret_file")
    uid = raw.text("uid")
    user = raw.text("user")
    token = raw.text("token_file")
    if not raw.flag("demo"):
        if not akid:
            raise ConfigError("LABARCHIVES_AKID (or --akid) is required")
        if not secret:
            raise ConfigError("LABARCHIVES_SECRET (or --secret-file) is required")
        if no_user and (uid or user or token):
            raise ConfigError("LABMCP_AUTH=oauth signs each user in: do not set LABARCHIVES_UID, _USER or _TOKEN")
        if not no_user and not uid and not (user and token):
            raise ConfigError("set LABARCHIVES_UID, or LABARCHIVES_USER and LABARCHIVES_TOKEN")
    return LabArchivesSettings(
        api_base=resolve_api_base(raw.text("region") or "us", demo_base or raw.text("api_base")),
        web_host=resolve_web_host(raw.text("region") or "us", demo_base or raw.text("api_base"), raw.text("web_host")),
        akid=akid or "",
        secret=Secret(secret or ""),
        uid=uid,
        user=user,
        token=Secret(token) if token else None,
        request_interval=raw.number("request_interval"),
        retry_backoff=raw.number("retry_backoff"),
        max_attempts=raw.integer("max_attempts", 1, 3),
        connect_timeout=raw.number("connect_timeout", 0.001),
        read_timeout=raw.number("read_timeout", 0.001),
        cache_ttl=raw.number("cache_ttl"),
        cache_bytes=raw.integer("cache_bytes", 0),
        max_response_bytes=raw.integer("max_response_bytes", 1024),
        max_download_bytes=raw.integer("max_download_bytes", 1024),
        max_calls_per_request=raw.integer("max_calls_per_request", 1),
    )


def _scope(raw: _Raw) -> ScopeSettings:
    folder = raw.text("folder_path")
    if folder is not None:
        parts = [p.strip() for p in folder.strip("/").split("/")]
        if not all(parts):
            raise ConfigError(f"{raw.origin['folder_path']} has an empty segment: {folder!r}")
        folder = "/".join(parts)
    notebook_id, notebook_name = raw.text("notebook_id"), raw.text("notebook_name")
    if notebook_id and notebook_name:
        raise ConfigError("give LABARCHIVES_NOTEBOOK_ID or LABARCHIVES_NOTEBOOK_NAME, not both")
    if folder and not (notebook_id or notebook_name):
        raise ConfigError("LABARCHIVES_FOLDER_PATH needs LABARCHIVES_NOTEBOOK_ID or LABARCHIVES_NOTEBOOK_NAME")
    return ScopeSettings(
        notebook_id=notebook_id,
        notebook_name=notebook_name,
        folder_path=folder,
        placement_bytes=raw.integer("placement_bytes", 64 * 1024),
    )


def _log(raw: _Raw) -> LogSettings:
    level = (raw.text("log_level") or "").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{raw.origin['log_level']} must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    log_file = raw.text("log_file")
    return LogSettings(
        level="DEBUG" if raw.flag("verbose") else level,
        file=Path(log_file) if log_file else None,
        max_bytes=raw.integer("log_max_bytes", 1024),
        backups=raw.integer("log_backups", 0, 100),
        json=raw.flag("log_json"),
    )


def _read_keys(path: str, origin: str) -> tuple[TokenKey, ...]:
    """``kid=<base64 of 32 bytes>`` lines (blank lines and ``#`` comments skipped), in file order."""
    keys: list[TokenKey] = []
    for number, raw_line in enumerate(_read_secret_file(path, origin).splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        kid, sep, encoded = line.partition("=")
        kid = kid.strip()
        try:
            material = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            material = b""
        # The value is never echoed: it is a secret even when malformed.
        if not sep or not kid or not kid.isascii() or not kid.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"{origin}: line {number} must be kid=<base64>, kid of letters, digits, - or _")
        if len(material) != 32:
            raise ConfigError(f"{origin}: line {number} (kid {kid}) must hold base64 of exactly 32 bytes")
        if any(k.kid == kid for k in keys):
            raise ConfigError(f"{origin}: kid {kid} appears twice")
        keys.append(TokenKey(kid, material))
    if not keys:
        raise ConfigError(f"{origin}: no keys in {path!r}")
    return tuple(keys)


def _public_url(raw: _Raw) -> str:
    url = (raw.text("public_url") or "").rstrip("/")
    parts = urlsplit(url)
    origin = raw.origin["public_url"]
    if not url:
        raise ConfigError("LABMCP_AUTH=oauth needs LABMCP_PUBLIC_URL (or --public-url), e.g. https://mcp.example.edu")
    if parts.query or parts.fragment or not parts.hostname or parts.path:
        raise ConfigError(f"{origin} must be scheme://host[:port] with no path, query or fragment, got {url!r}")
    if parts.scheme != "https" and not (parts.scheme == "http" and is_loopback_host(parts.hostname)):
        raise ConfigError(f"{origin} must use https (http only on a loopback host), got {url!r}")
    return url


def _auth(raw: _Raw, transport: str) -> AuthSettings:
    mode = (raw.text("auth") or "").lower()
    if mode not in ("static", "oauth"):
        raise ConfigError(f"{raw.origin['auth']} must be static or oauth, got {mode!r}")
    replicas = raw.integer("replicas", 1, 1000)
    max_users = raw.integer("max_users", 1, 10_000)
    if mode == "static":
        return AuthSettings(replicas=replicas, max_users=max_users)
    if transport != "http":
        raise ConfigError("LABMCP_AUTH=oauth needs LABMCP_TRANSPORT=http (sign-in happens in a browser)")
    if raw.flag("demo"):
        raise ConfigError("LABMCP_AUTH=oauth cannot serve the demo (its fake has one user and no sign-in)")
    if raw.text("http_token_file"):
        raise ConfigError("LABMCP_AUTH=oauth issues its own tokens: do not set LABMCP_HTTP_TOKEN")
    keys_path = raw.text("token_keys_file")
    if not keys_path:
        raise ConfigError("LABMCP_AUTH=oauth needs LABMCP_TOKEN_KEYS_FILE (or --token-keys-file)")
    return AuthSettings(
        mode="oauth",
        public_url=_public_url(raw),
        keys=_read_keys(keys_path, raw.origin["token_keys_file"]),
        replicas=replicas,
        max_users=max_users,
    )


def _http(raw: _Raw, transport: str, auth: AuthSettings) -> HTTPSettings:
    health_port: int | None
    if raw.text("health_port") is None:
        health_port = 8000 if transport == "http" else None
    else:
        health_port = raw.integer("health_port", 0, 65535)
    http_token = raw.text("http_token_file")
    host = raw.text("host") or "127.0.0.1"
    if transport == "http" and auth.mode == "static" and not is_loopback_host(host) and not http_token:
        raise ConfigError(f"binding the HTTP transport to {host} needs LABMCP_HTTP_TOKEN (or --http-token-file)")
    return HTTPSettings(
        host=host,
        port=raw.integer("port", 0, 65535),
        token=Secret(http_token) if http_token else None,
        allowed_origins=raw.listing("allowed_origins"),
        allowed_hosts=raw.listing("allowed_hosts"),
        health_host=raw.text("health_host") or "127.0.0.1",
        health_port=health_port,
        max_body_bytes=raw.integer("max_body_bytes", 1024),
        max_sessions=raw.integer("max_sessions", 1),
        max_sessions_per_credential=raw.integer("max_sessions_per_credential", 1),
        max_concurrent_requests=raw.integer("max_concurrent_requests", 1),
        max_connections=raw.integer("max_connections", 2),
        idle_timeout=raw.number("idle_timeout", 1.0),
        body_timeout=raw.number("body_timeout", 0.001),
        shutdown_grace=raw.number("shutdown_grace"),
        shutdown_delay=raw.number("shutdown_delay"),
        readiness_interval=raw.number("readiness_interval", 0.1),
        stateless=raw.flag("stateless"),
    )
