"""Shared pieces of the adversarial suite: canary credentials, a fake that knows them, server
environments that log at DEBUG to a file, and the secret scan every part applies to what it saw."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

from labmcp.fake import Credentials, FakeLabArchives, demo
from labmcp.fake.exchange import FakeConfig
from labmcp.secret import Secret
from tests.e2e.helpers import server_env

# Each canary carries '+', '/' and '=' so its percent-encoded forms differ from the raw value.
CANARY_PASSWORD = "Canary+Access/Pass=9d1e-7b"
CANARY_TOKEN = "Canary+App/Token=4b7c-2f"
CANARY_BEARER = "canary-bearer-token-83e1-5a0c"
SECRETS = (CANARY_PASSWORD, CANARY_TOKEN, CANARY_BEARER)
_UNMASKED_SIG = re.compile(r"(?i)\bsig=(?!\*\*\*)")


def secret_forms() -> list[str]:
    """Every form in which a canary secret could leak: raw, percent-encoded, form-encoded."""
    forms: set[str] = set()
    for value in SECRETS:
        forms.update({value, quote(value, safe=""), quote_plus(value), quote(value)})
    return sorted(forms)


def leaked_secrets(text: str) -> list[str]:
    """The canary secrets (in any encoding) and unmasked ``sig=`` parameters found in ``text``."""
    found = [form for form in secret_forms() if form in text]
    if _UNMASKED_SIG.search(text):
        found.append("sig=")
    return found


def canary_fake(config: FakeConfig | None = None) -> FakeLabArchives:
    """The demo lab, but its access password and app token are the canary secrets."""
    config = config or FakeConfig()
    now_ms = time.time_ns() // 1_000_000 + config.clock_offset_ms
    store = demo.build(now_ms)
    store.add_akid(demo.AKID, CANARY_PASSWORD)
    store.users[demo.UID].tokens = {}
    store.add_token(demo.UID, CANARY_TOKEN, now_ms)
    creds = Credentials(demo.AKID, Secret(CANARY_PASSWORD), demo.EMAIL, Secret(CANARY_TOKEN), demo.UID)
    return FakeLabArchives(store, config, creds)


def adversarial_env(fake: Any, log_file: Path, **extra: str) -> dict[str, str]:
    """A server environment for the fake with DEBUG logs to ``log_file`` and fast failure settings."""
    base = {
        "LABARCHIVES_LOG_FILE": str(log_file),
        "LABARCHIVES_LOG_LEVEL": "DEBUG",
        "LABARCHIVES_CONNECT_TIMEOUT": "2",
        "LABARCHIVES_READ_TIMEOUT": "2",
        "LABARCHIVES_RETRY_BACKOFF": "0.01",
    }
    base.update(extra)
    return server_env(fake, **base)


def read_logs(log_file: Path) -> str:
    """The log file and its rotated siblings, for the secret scan."""
    return "\n".join(
        p.read_text(encoding="utf-8", errors="replace") for p in sorted(log_file.parent.glob(log_file.name + "*"))
    )
