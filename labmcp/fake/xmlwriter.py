"""A tiny writer for LabArchives-style XML: Rails typed attributes, ``<request>`` echo, error bodies.

Independent of the client's decoder on purpose (style.md): a bug in one must not hide in the other.
Children of record elements can be shuffled with a seeded ``random.Random`` because the real order is
not fixed (§3); children of arrays keep their order since that order carries meaning (page order),
and arrays stay after their scalar siblings (see ``_write``).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_SECRET_PARAMS = frozenset({"password", "token"})
"""Never echoed (§3: the password is not echoed, only login-or-email)."""
_AUTH_ORDER = ("class", "method", "akid", "expires", "sig", "uid")


@dataclass(frozen=True, slots=True)
class El:
    """An XML element: text or children, plus attributes; ``array`` children never get shuffled."""

    tag: str
    text: str | None = None
    attrs: tuple[tuple[str, str], ...] = ()
    children: tuple[El, ...] = ()
    array: bool = False


def text(tag: str, value: str | None) -> El:
    """A plain string element; None becomes ``nil="true"`` (§3)."""
    if value is None or value == "":
        return El(tag, attrs=(("nil", "true"),))
    return El(tag, value)


def integer(tag: str, value: int) -> El:
    return El(tag, str(value), (("type", "integer"),))


def boolean(tag: str, value: bool) -> El:
    return El(tag, "true" if value else "false", (("type", "boolean"),))


def timestamp(tag: str, epoch_seconds: int) -> El:
    """A ``type="datetime"`` element in UTC with a trailing ``Z``, seconds precision (§3)."""
    when = datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return El(tag, when, (("type", "datetime"),))


def array(tag: str, items: Iterable[El]) -> El:
    """A collection; one-element arrays stay wrapped (§3)."""
    return El(tag, attrs=(("type", "array"),), children=tuple(items), array=True)


def record(tag: str, *children: El) -> El:
    return El(tag, children=children)


def hyphen(name: str) -> str:
    return name.replace("_", "-")


def request_echo(api_class: str, method: str, params: Mapping[str, str]) -> El:
    """The ``<request>`` child: class with underscore, method, auth fields and params with hyphens (§3)."""
    fields = [text("class", api_class), text("method", method)]
    fields += [text(name, params[name]) for name in _AUTH_ORDER[2:] if name in params]
    fields += [
        text(hyphen(name), value)
        for name, value in params.items()
        if name not in _AUTH_ORDER and name not in _SECRET_PARAMS
    ]
    return record("request", *fields)


def error_body(code: int, description: str) -> El:
    """The error document clients parse with ``.//error-code`` (§5.1)."""
    return record("error", text("error-code", str(code)), text("error-description", description))


def _clean(value: str) -> str:
    return _INVALID_XML_CHARS.sub("\ufffd", value)


def _write(element: El, out: list[str], rng: random.Random | None) -> None:
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in element.attrs)
    if element.text is None and not element.children:
        out.append(f"<{element.tag}{attrs}/>")
        return
    out.append(f"<{element.tag}{attrs}>")
    if element.text is not None:
        out.append(escape(_clean(element.text)))
    children = list(element.children)
    if rng is not None and not element.array:
        rng.shuffle(children)
        # labapi (live-tested) takes the uid as the first <id> in document order (".//id"), so live
        # answers put scalars before collections; shuffling keeps that (stable sort, arrays last).
        children.sort(key=lambda child: child.array)
    for child in children:
        _write(child, out, rng)
    out.append(f"</{element.tag}>")


def to_bytes(root: El, rng: random.Random | None = None, *, keep_first: bool = False) -> bytes:
    """Serialise with the UTF-8 declaration; ``keep_first`` pins the root's first child when shuffling."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n']
    if rng is not None and keep_first and root.children:
        first, rest = root.children[0], list(root.children[1:])
        rng.shuffle(rest)
        out.append(f"<{root.tag}>")
        _write(first, out, rng)
        for child in rest:
            _write(child, out, rng)
        out.append(f"</{root.tag}>")
    else:
        _write(root, out, rng)
    out.append("\n")
    return "".join(out).encode("utf-8")
