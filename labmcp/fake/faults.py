"""Fault injection for the fake: what can go wrong on the wire, configured by tests at runtime.

``Faults`` is plain bookkeeping (which fault hits the next call of a method); ``fault_response``
turns the body-level kinds into a response, purely. The transport kinds (hang, reset, latency,
hang_mid_body) are acted out by the loopback adapter in ``serve``. The hostile kinds: ``encoded``
(content codings, stacked, or a compression bomb), ``custom`` (any status, type and body: a lying
type, an empty or ``<error>`` body with 200, a UTF-16 DTD) and ``echo_error`` (a WAF page that
echoes the request, signature and all).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import escape
from typing import Final, Literal
from urllib.parse import unquote, unquote_plus

from labmcp.fake.exchange import FakeConfig, FakeResponse, error_response

FaultKind = Literal[
    "http_status",
    "la_error",
    "hang_before_response",
    "hang_mid_body",
    "reset",
    "garbage",
    "truncated_xml",
    "xml_bomb",
    "external_entity",
    "wrong_content_type",
    "huge_body",
    "latency",
    "encoded",
    "custom",
    "echo_error",
]
KINDS: Final = frozenset(FaultKind.__args__)  # type: ignore[attr-defined]
TRANSPORT_KINDS: Final = frozenset({"hang_before_response", "hang_mid_body", "reset", "latency"})

XML_BOMB: Final = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<users><fullname>&lol9;</fullname><id>bomb</id></users>
"""
EXTERNAL_ENTITY: Final = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE users [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<users><fullname>&xxe;</fullname><id>&xxe;</id></users>
"""
HTML_PAGE: Final = (
    b"<!DOCTYPE html><html><head><title>LabArchives - Scheduled Maintenance</title></head>"
    b"<body><h1>We'll be back soon</h1><p>LabArchives is undergoing scheduled maintenance.</p></body></html>"
)
GARBAGE: Final = b"\x00\xff\xfeThis is not XML {[<<\x01"


@dataclass(slots=True)
class Fault:
    """One configured fault: its kind, target method (None = all), remaining uses (None = forever)."""

    kind: FaultKind
    method: str | None
    remaining: int | None
    params: dict[str, object] = field(default_factory=dict)

    def number(self, name: str, default: float) -> float:
        value = self.params.get(name, default)
        if not isinstance(value, int | float):
            raise TypeError(f"fault parameter {name} must be a number")
        return float(value)


class Faults:
    """The faults a running fake applies, in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, kind: FaultKind, method: str | None = None, times: int | None = 1, **params: object) -> Fault:
        """Make the next ``times`` calls of ``method`` (any method if None) fail with ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(KINDS)}")
        fault = Fault(kind, method, times, dict(params))
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str) -> Fault | None:
        """The fault for this call of ``method``, counting one use of it; None when none applies."""
        for fault in self._faults:
            if fault.method in (None, method) and fault.remaining != 0:
                if fault.remaining is not None:
                    fault.remaining -= 1
                return fault
        return None


def _encode_one(chunks: Iterable[bytes], coding: str) -> bytes:
    """Apply one content coding to a stream of chunks (RFC 9110 §8.4)."""
    if coding in ("gzip", "x-gzip", "deflate"):
        packer = zlib.compressobj(9, zlib.DEFLATED, 31 if coding != "deflate" else 15)
        return b"".join(packer.compress(chunk) for chunk in chunks) + packer.flush()
    body = b"".join(chunks)
    # An unsupported coding (br, zstd): the bytes only have to be something else.
    return body if coding == "identity" else body[::-1]


def _zeros(size: int) -> Iterator[bytes]:
    for start in range(0, size, 1 << 20):
        yield bytes(min(1 << 20, size - start))


def _apply(codings: tuple[str, ...], stream: Iterable[bytes]) -> bytes:
    body = b""
    for coding in codings:
        body = _encode_one(stream, coding)
        stream = (body,)
    return body


@functools.lru_cache(maxsize=4)
def bomb(size: int, codings: tuple[str, ...]) -> bytes:
    """``size`` zero bytes under ``codings``: seconds of CPU for a large size, so built once (call
    it before the fault fires, or the fake spends those seconds inside a request)."""
    return _apply(codings, _zeros(size))


def _encoded(fault: Fault, normal: FakeResponse) -> FakeResponse:
    """The normal answer, or with ``inflated`` that many zero bytes (a bomb, built without ever
    holding them), sent with each coding of ``encodings`` applied in order."""
    codings = tuple(c.strip() for c in str(fault.params.get("encodings", "gzip")).split(",") if c.strip())
    inflated = fault.params.get("inflated")
    body = bomb(inflated, codings) if isinstance(inflated, int) else _apply(codings, (normal.body,))
    headers = tuple(h for h in normal.headers if h[0].lower() != "content-encoding")
    return FakeResponse(normal.status, (*headers, ("Content-Encoding", ", ".join(codings))), body)


def _custom(fault: Fault) -> FakeResponse:
    body = fault.params.get("body", b"")
    ctype = fault.params.get("content_type", "application/xml")
    status = fault.params.get("status", 200)
    headers = fault.params.get("headers", ())
    if not isinstance(body, bytes) or not isinstance(ctype, str) or not isinstance(status, int):
        raise TypeError("custom fault: body bytes, content_type str, status int")
    extra = tuple(headers) if isinstance(headers, tuple) else ()
    return FakeResponse(status, (("Content-Type", ctype), *extra), body)


def _echo_error(fault: Fault, target: str) -> FakeResponse:
    """A WAF/proxy error page that echoes the request target in the forms such pages use: raw,
    percent-decoded, and form-decoded (``+`` as a space), inside a LabArchives-shaped error."""
    status = int(fault.number("status", 403))
    echoed = f"Request blocked: {target} | decoded {unquote(target)} | form {unquote_plus(target)}"
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<error><error-code>4999</error-code>'
        f"<error-description>{escape(echoed)}</error-description></error>"
    ).encode()
    return FakeResponse(status, (("Content-Type", "application/xml; charset=utf-8"),), body, 4999)


def fault_response(fault: Fault, normal: FakeResponse, config: FakeConfig, target: str = "") -> FakeResponse:
    """The response a body-level fault sends instead of (or made from) the normal one.

    ``target`` is the request's path and query, for faults that echo it back.
    """
    xml = (("Content-Type", "application/xml; charset=utf-8"),)
    match fault.kind:
        case "http_status":
            status = int(fault.number("status", 503))
            if fault.params.get("plain"):
                return FakeResponse(status, (("Content-Type", "text/plain"),), b"Service temporarily unavailable\n")
            return error_response(config, 4999, status)
        case "la_error":
            code = int(fault.number("code", 4999))
            override = fault.params.get("status")
            return error_response(config, code, override if isinstance(override, int) else None)
        case "garbage":
            body = fault.params.get("body", GARBAGE)
            return FakeResponse(200, xml, body if isinstance(body, bytes) else GARBAGE)
        case "truncated_xml":
            keep = int(len(normal.body) * fault.number("fraction", 0.5))
            return FakeResponse(200, xml, normal.body[:keep])
        case "xml_bomb":
            return FakeResponse(200, xml, XML_BOMB)
        case "external_entity":
            return FakeResponse(200, xml, EXTERNAL_ENTITY)
        case "wrong_content_type":
            return FakeResponse(200, (("Content-Type", "text/html; charset=utf-8"),), HTML_PAGE)
        case "huge_body":
            size = int(fault.number("size", 16 * 1024 * 1024))
            head, tail = b'<?xml version="1.0" encoding="UTF-8"?>\n<utilities><padding>', b"</padding></utilities>\n"
            return FakeResponse(200, xml, head + b"x" * max(0, size - len(head) - len(tail)) + tail)
        case "encoded":
            return _encoded(fault, normal)
        case "custom":
            return _custom(fault)
        case "echo_error":
            return _echo_error(fault, target)
        case _:
            return normal
