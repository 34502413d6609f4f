"""A fake LabArchives ELN API for tests and the demo: pure core, loopback server, demo data, faults."""

from __future__ import annotations

from labmcp.fake.exchange import FakeConfig

__all__ = ["FakeConfig"]
