"""Each rendered overlay's settings fit its own memory limit, by README's arithmetic
("Upstream bytes and the memory budget"): idle + full caches + one heavy phase + the answers of the
other requests in flight <= the container's limit. The factors are the ones `make bench` measured
(section hostile-memory); the hostile suite checks the defaults against a real process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from labmcp.config import load
from tests.k8s.test_manifests import pod_env, server_container
from tests.k8s.tools import OVERLAYS, documents

MIB = 1024 * 1024
IDLE_MIB = 64.0
"""Idle RSS after start-up: issue 20's goal, above the 59 MiB measured."""
XML_FACTOR = 7.5
"""Peak per byte of the largest XML: bytes, decoded text, element tree, entries, Markdown."""
DOWNLOAD_FACTOR = 5.0
"""Peak per byte of the largest resources/read: bytes, base64, JSON."""
ANSWER_BYTES_PER_CHAR = 5.0
"""One tool answer in flight: its text, the structured copy and the JSON being written."""


def _mib(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


@pytest.mark.parametrize("overlay", [*OVERLAYS, "sidecar"])
def test_overlay_settings_fit_their_memory_limit(overlay: str, tmp_path: Path) -> None:
    docs = documents(overlay)
    container = server_container(docs)
    settings = load(container["args"], pod_env(overlay, docs, tmp_path))
    limit = _mib(container["resources"]["limits"]["memory"])
    la, out, http = settings.labarchives, settings.output, settings.http
    heavy = max(XML_FACTOR * la.max_response_bytes, DOWNLOAD_FACTOR * la.max_download_bytes) / MIB
    others = http.max_concurrent_requests * out.max_chars * ANSWER_BYTES_PER_CHAR / MIB
    need = IDLE_MIB + (la.cache_bytes + settings.scope.placement_bytes) / MIB + heavy + others
    assert need <= limit, f"{overlay}: {need:.0f} MiB needed by README's arithmetic, limit {limit:.0f} MiB"
