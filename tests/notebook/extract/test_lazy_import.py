"""The extractors load only when a file of their kind is read: serving over stdio imports none of them."""

from __future__ import annotations

import json
import subprocess
import sys

LAZY = ("pypdf", "labmcp.notebook.extract.pdf", "labmcp.notebook.extract.ooxml", "labmcp.notebook.extract.docx",
        "labmcp.notebook.extract.xlsx", "labmcp.notebook.extract.pptx")  # fmt: skip


def _imported(code: str) -> set[str]:
    """Modules a fresh interpreter holds after running ``code``."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_stdio_server_and_the_service_import_no_extractor() -> None:
    names = _imported("import labmcp.cli, labmcp.runner, labmcp.server.app, labmcp.notebook.service")
    assert "labmcp.notebook.service" in names  # the probe works
    assert not names & set(LAZY), sorted(names & set(LAZY))


def test_reading_a_pdf_imports_pypdf_then() -> None:
    names = _imported(
        "from labmcp.fake.demo_files import minimal_pdf\n"
        "from labmcp.notebook.extract import extract\n"
        "extract('pdf', minimal_pdf('t', ['x']))"
    )
    assert {"pypdf", "labmcp.notebook.extract.pdf"} <= names
