"""Escaping of notebook-derived text that lands in Markdown outside code, and the link filter.

``escape_text`` is the one function every caller uses for a notebook string shown as Markdown text
(names, captions, file names, snippets, plain-text entries): it removes control characters,
neutralises anything that reads like our frame markers (``frame.neutralise``), shows a newline in a
name as a visible ``⏎`` instead of a line break, and escapes exactly the characters that could turn
into Markdown or HTML there. ``escape_run`` is its core, shared with the HTML converter, for a run of
text whose neighbours are not known (so it escapes at its edges as if they could be anything).
"""

from __future__ import annotations

import re
import string

from labmcp.notebook.frame import neutralise

NEWLINE_MARK = " ⏎ "

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ESCAPE = re.compile(r"[\\`*_~<\[\]|(!]|&(?=#?\w+;)")
_LINE_START = re.compile(r"#{1,6}(?=\s|$)|>|[-+](?=\s|$)|[-=]+\s*$")
_ORDINAL = re.compile(r"([0-9]{1,9})([.)])(?=\s|$)")
_LINE_STARTERS = frozenset("#>-+=0123456789")
_SPACES = re.compile(r"[ \t\n\f\r]+")
_URL_SPACE = re.compile(r"[\x00-\x20\x7f]")  # space becomes %20, the others go
_SAFE_SCHEMES = ("http://", "https://", "mailto:")
_URL_ESCAPES = str.maketrans({" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"})
_PUNCT = frozenset(string.punctuation)
_SPECIAL = frozenset("\\`*_~<[]|(!&")


def _needs_escape(m: re.Match[str]) -> str:
    ch, i, s = m.group(0), m.start(), m.string
    prev = s[i - 1] if i > 0 else ""
    nxt = s[i + 1] if i + 1 < len(s) else ""
    if ch == "\\":
        needed = not nxt or nxt in _PUNCT
    elif ch in "*~":  # a run between spaces can neither open nor close emphasis
        needed = not (prev.isspace() and nxt.isspace())
    elif ch == "_":
        needed = not ((prev.isalnum() and nxt.isalnum()) or (prev.isspace() and nxt.isspace()))
    elif ch == "<":
        needed = nxt.isalpha() or nxt in ("/", "!", "?", "")
    elif ch == "]":
        needed = True
    elif ch == "(":
        needed = not prev  # right after our own [..] it could make a link
    elif ch == "!":
        needed = not nxt  # "!" then a link of ours would make an image
    else:
        needed = True
    return "\\" + ch if needed else ch


def escape_run(text: str) -> str:
    """``text`` with every character that could start or end Markdown markup there escaped.

    Ordinary prose stays readable (``snake_case``, ``2 * 3``, ``C:\\Users``); at the run's edges a
    character is escaped whenever what follows or precedes it could make it markup.
    """
    if _SPECIAL.isdisjoint(text):
        return text
    return _ESCAPE.sub(_needs_escape, text)


def escape_line_start(line: str) -> str:
    """``line`` (already escaped) made safe as the start of a Markdown line: no heading, quote,
    list item, setext underline or thematic break."""
    if not line or line[0] not in _LINE_STARTERS:
        return line
    if _LINE_START.match(line):
        return "\\" + line
    m = _ORDINAL.match(line)
    return f"{m.group(1)}\\{line[m.end(1) :]}" if m else line


def clean(text: str) -> str:
    """``text`` minus control characters (not tab or newline) and lone surrogates; CR/CRLF as LF."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def escape_text(text: str, *, multiline: bool = False, max_chars: int | None = None) -> str:
    """A notebook string as Markdown text that reads as exactly that string and nothing more.

    One line by default: a newline shows as ``⏎`` and other whitespace runs as one space. With
    ``multiline`` (plain-text entries) each line stays a line (a hard break) and blank lines
    separate paragraphs. ``max_chars`` cuts the text (before escaping) and marks the cut with ``…``.
    """
    if not multiline and text.isascii() and text.isprintable():
        # the common name: no control character, line break or tab, so clean() and the line split
        # below change nothing; only spaces to trim and collapse
        text = neutralise(text)
        if max_chars is not None and len(text) > max_chars:
            text = text[:max_chars] + "…"
        text = text.strip()
        if "  " in text:
            text = _SPACES.sub(" ", text)
        return escape_line_start(escape_run(text))
    text = neutralise(clean(text))
    if max_chars is not None and len(text) > max_chars:
        text = text[:max_chars] + "…"
    if not multiline:
        text = NEWLINE_MARK.join(_SPACES.sub(" ", line).strip() for line in text.strip().split("\n"))
        return escape_line_start(escape_run(text))
    paragraphs: list[str] = []
    run: list[str] = []
    for raw in [*text.split("\n"), ""]:
        line = _SPACES.sub(" ", raw).strip()
        if line:
            run.append(escape_line_start(escape_run(line)))
        elif run:
            paragraphs.append("  \n".join(run))
            run = []
    return "\n\n".join(paragraphs)


def safe_url(url: str) -> str | None:
    """``url`` when it is an http, https or mailto link (made safe inside ``(...)``), else None."""
    url = url.strip()
    if not url.lower().startswith(_SAFE_SCHEMES):
        return None
    return _URL_SPACE.sub(lambda m: "%20" if m.group(0) == " " else "", url).translate(_URL_ESCAPES)


def link(text: str, url: str) -> str:
    """A Markdown link to ``url`` labelled with the notebook string ``text``; plain text when the URL
    is not http, https or mailto."""
    label = escape_text(text)
    target = safe_url(url)
    if target is None:
        return label
    return f"[{label}]({target})" if label else f"<{target}>"
