"""The fake's request, response, configuration and error types, shared by the core and the adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from labmcp.fake.xmlwriter import error_body, to_bytes

PAST_SKEW_MS = 120_000
"""A call whose ``expires`` is older than two minutes fails with 4504 (§2.4 [DOC])."""

DESCRIPTIONS: dict[int, str] = {
    4500: "one or more mandatory parameters were not included in your request",
    4501: "The user does not have rights to read this item",
    4502: "The user does not have rights to modify this item",
    4503: "The API method does not exist",
    4504: "The expires parameter is no longer valid, it's to old",
    4506: "The access key id (akid) is not valid",
    4507: "No user was found for the uid",
    4509: "The notebook id is invalid",
    4511: "The entry does not contain an attachment",
    4512: "The entry could not be found",
    4514: "Login and/or password information is incorrect",
    4517: "Unable to locate page",
    4518: "POST data was not application/octet-stream",
    4520: "The supplied signature parameter was invalid",
    4527: "Unsupported entry type",
    4529: "parameter contains invalid value",
    4533: "Session timed out",
    4547: "The user does not have rights to perform requested action",
    4999: "Unexpected internal failure",
}
"""Descriptions from §5.1 where one was seen, else the meaning column of §5.2."""


def _default_status_map() -> dict[int, int]:
    # §5.3 [INF]: clients must key on <error-code>, so these are configurable rather than guessed facts.
    return {
        4500: 400,
        4501: 403,
        4502: 403,
        4503: 404,
        4504: 401,
        4506: 401,
        4507: 404,
        4509: 404,
        4511: 400,
        4512: 404,
        4514: 404,
        4517: 404,
        4518: 400,
        4520: 401,
        4527: 400,
        4529: 400,
        4533: 401,
        4547: 403,
        4999: 500,
    }


@dataclass(slots=True)
class FakeConfig:
    """Runtime knobs of the fake; mutable so tests can change them while the server runs."""

    clock_offset_ms: int = 0
    accept_sha1: bool = False
    future_skew_ms: int = 300_000
    shuffle_seed: int | None = None
    search_miss_code: int = 4512
    auth_status: int = 401
    node_parent: bool = True
    """Whether ``get_node`` names the parent (``<parent-tree-id>``); §6.3 leaves it open, so both layouts are served."""
    entry_url: Literal["labapi", "nexus", "opaque"] = "labapi"
    """The shape of ``<entry-url>`` (§6.8 leaves it open): labapi's ``<web>/<nbid>/page/<page>#<eid>``,
    NexusLIMS's ``<web>/#/<nbid>/<page>``, or ``opaque`` (``<web>/share/<token>``: names no page)."""
    web_pages_for: str | None = None
    """A uid whose readable pages ``GET /<nbid>/page/<id>`` shows as HTML (the demo's links); None = off."""
    status_map: dict[int, int] = field(default_factory=_default_status_map)

    def status_for(self, code: int) -> int:
        return self.status_map.get(code, 400)


@dataclass(frozen=True, slots=True)
class FakeRequest:
    """An HTTP request reduced to what LabArchives looks at; ``params`` = query merged with form body."""

    verb: str
    path: str
    params: Mapping[str, str]
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


XML_HEADERS = (("Content-Type", "application/xml; charset=utf-8"),)


@dataclass(frozen=True, slots=True)
class FakeResponse:
    """Status, headers and body; ``error_code`` is set for LabArchives error bodies (for the request log)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error_code: int | None = None


def parse_request(verb: str, target: str, headers: Mapping[str, str], body: bytes) -> FakeRequest:
    """Build a FakeRequest from raw HTTP parts: values are URL-decoded exactly once (§2.2, §9.3).

    Form fields of an ``application/x-www-form-urlencoded`` body are merged over the query, as
    clients put different subsets of parameters in each (§1.2).
    """
    parts = urlsplit(target)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    content_type = {k.lower(): v for k, v in headers.items()}.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return FakeRequest(verb.upper(), parts.path, params, body, headers)


class LAError(Exception):
    """A LabArchives error answer: code, optional HTTP status override and description (§5)."""

    def __init__(self, code: int, status: int | None = None, description: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.description = description


def error_response(config: FakeConfig, code: int, status: int | None = None, description: str = "") -> FakeResponse:
    """The ``<error>`` document of §5.1 with the configured status for the code."""
    body = to_bytes(error_body(code, description or DESCRIPTIONS.get(code, "error")))
    return FakeResponse(config.status_for(code) if status is None else status, XML_HEADERS, body, code)
