"""What every notebook operation hands back (Markdown plus JSON-ready facts, attachment extras), and the
small argument checks they share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labmcp.errors import InvalidArgumentError


@dataclass(frozen=True, slots=True)
class Rendered:
    """A tool's answer: Markdown for the model and the same facts as JSON-ready data."""

    markdown: str
    structured: dict[str, Any]


def iso(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 with ``Z`` for UTC, or None."""
    return value.isoformat().replace("+00:00", "Z") if value else None


def check_index(name: str, value: int, limit: int | None = None) -> None:
    """An index argument must be >= 0 (and <= ``limit`` when given)."""
    if value < 0 or (limit is not None and value > limit):
        bound = f" and <= {limit}" if limit is not None else ""
        raise InvalidArgumentError(f"{name} must be >= 0{bound}, got {value}")


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """Where the whole attachment can be read as a resource, for a resource link."""

    uri: str
    name: str
    mime_type: str
    size: int | None


@dataclass(frozen=True, slots=True)
class AttachmentAnswer:
    """``get_attachment``'s answer; ``image`` carries bytes to send as MCP image content."""

    rendered: Rendered
    link: ResourceRef
    image: bytes | None = None
    image_type: str = ""
