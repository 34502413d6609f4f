"""Logging: stderr (never stdout: in stdio mode it carries the protocol), an optional size-rotated
file, text or JSON lines, and redaction of secrets in every record, exceptions included.

Redaction works on the formatted line, so a secret that reaches a log call by any path (an
exception text, a URL logged by a library) is masked: the configured secret values, their
percent-encoded forms, and any ``sig=``/``password=``/``token=`` query parameter.
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
        return self._redact(super().format(record))


class _JSONFormatter(logging.Formatter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
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
