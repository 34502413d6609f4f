"""Redaction: secrets never reach a log line, whatever path they take."""

import logging
from pathlib import Path

from labmcp.config import LogSettings
from labmcp.log import Redactor, configure


def test_redactor_masks_values_and_encoded_forms() -> None:
    redact = Redactor(["s3cr+t/=x"])
    text = redact("pw s3cr+t/=x enc s3cr%2Bt%2F%3Dx plus s3cr%2Bt%2F%3Dx")
    assert "s3cr" not in text


def test_redactor_masks_query_secrets_and_bearer() -> None:
    redact = Redactor()
    line = redact("GET /api/x?akid=a&sig=abc%2B&password=tok&uid=u Authorization: Bearer abc.def")
    assert "abc%2B" not in line and "tok&" not in line and "abc.def" not in line
    assert "akid=a" in line and "uid=u" in line


def test_file_log_is_redacted_including_exceptions(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "labmcp.log"
    configure(LogSettings(level="DEBUG", file=path, json=True), ["CANARY-SECRET-1234"])
    log = logging.getLogger("labmcp.test")
    try:
        raise ValueError("boom CANARY-SECRET-1234")
    except ValueError:
        log.exception("failed with CANARY-SECRET-1234 and ?sig=zzz")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text()
    assert "boom" in text
    assert "CANARY-SECRET-1234" not in text and "sig=zzz" not in text
