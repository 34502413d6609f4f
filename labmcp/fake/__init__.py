"""A fake LabArchives ELN API for tests and the demo: pure core, loopback server, demo data, faults."""

from __future__ import annotations

from labmcp.fake.exchange import FakeConfig
from labmcp.fake.serve import Credentials, FakeLabArchives

__all__ = ["Credentials", "FakeConfig", "FakeLabArchives"]
