"""Logging: stderr (never stdout: in stdio mode it carries the protocol), an optional size-rotated
file, text or JSON lines, and redaction of secrets in every record, exceptions included.

Redaction works on the formatted line, so a secret that reaches a log call by any path (an
exception text, a URL logged by a library) is masked: the configured secret values, their
percent-encoded forms, and any ``sig=``/``password=``/``token=`` query parameter.

Escaping: whatever a request contributes to a message (a path, a header, a tool argument) could
hold a newline and forge a whole record, say a fake ``labmcp.audit`` line. So the message of every
record has its control, line-separator and lone-surrogate characters written as ``\\n``,
``\\x1b``, ``\\u2028``, ``\\udc80``; a backslash itself becomes ``\\\\`` so an escape cannot be
forged either. In text logs an exception's traceback keeps its lines, each indented, so no record
but the first starts at the left margin; JSON lines escape everything JSON requires anyway.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

from labmcp.config import LogSettings

_QUERY_SECRET = re.compile(r"(?i)\b(sig|password|token|secret|access_password|akpass)=([^&\s\"'<>]+)")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
MASK = "***"
_UNSAFE = re.compile(r"[\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    code = ord(char)
    return {10: "\\n", 13: "\\r", 9: "\\t"}.get(code) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape(text: str) -> str:
    """``text`` on one line: control, line-separator and surrogate characters (and ``\\``) escaped."""
    return _UNSAFE.sub(_escape_char, text)


class Redactor:
    """Masks known secret values and secret-looking query parameters in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            if len(secret) >= 4:  # masking tiny strings would shred ordinary text
                values.update({secret, quote(secret, safe=""), quote_plus(secret)})
        self._values = sorted(values, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            text = text.replace(value, MASK)
        text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)


class _TextFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        message = escape(self._redact(record.getMessage()))  # redacted first: escaping could split a secret
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {message}"
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line += "\n" + "\n".join("    " + escape(part) for part in record.exc_text.splitlines())
        if record.stack_info:
            line += "\n" + "\n".join("    " + escape(part) for part in record.stack_info.splitlines())
        return self._redact(line)


class _JSONFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape(self._redact(record.getMessage())),
        }
        if record.exc_info:
            entry["exception"] = escape(self.formatException(record.exc_info))
        return self._redact(json.dumps(entry, ensure_ascii=False))


def configure(settings: LogSettings, secrets: Iterable[str] = ()) -> Redactor:
    """Install handlers on the root logger (so library logs are redacted too); returns the redactor."""
    redact = Redactor(secrets)
    formatter: logging.Formatter = _JSONFormatter(redact) if settings.json else _TextFormatter(redact)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if settings.file is not None:
        settings.file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            logging.handlers.RotatingFileHandler(
                settings.file, maxBytes=settings.max_bytes, backupCount=settings.backups, encoding="utf-8"
            )
        )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("labmcp").setLevel(settings.level)
    # Libraries that log request URLs stay at WARNING even in DEBUG runs (redaction still applies).
    for noisy in ("httpx", "httpcore", "hypercorn.access", "mcp"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redact
