"""Rewriting a zip package member by member, for hostile Office files in tests."""

from __future__ import annotations

import io
import zipfile


def with_member(data: bytes, name: str, body: bytes, *, extra: int = 0) -> bytes:
    """The package with member ``name`` replaced by ``body`` (and ``extra`` small filler members added)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, body if info.filename == name else src.read(info))
        for n in range(extra):
            dst.writestr(f"filler/{n}.xml", b"<x/>")
    return out.getvalue()
