"""Numbers read from people, files and LabArchives count only when written with ASCII digits 0-9.

Python's number parsing accepts every script's digits: ``int("\\uff11\\uff12") == 12`` (full-width),
``\\d`` matches Arabic-Indic digits, and ``"\\u00b2".isdigit()`` (superscript two) is true although
``int()`` of it raises. A ``since`` of ``"\\uff11d"`` would act as one day while a reviewer, a log line
or a proxy sees something else, so every parser of ours uses these checks (and ``[0-9]`` in
patterns), and a rejected value's error names the character.
"""

from __future__ import annotations

import unicodedata


def is_digits(text: str) -> bool:
    """True for a non-empty run of ASCII digits 0-9 and nothing else."""
    return text.isascii() and text.isdigit()


def digits_or_none(text: str) -> int | None:
    """``text`` as a non-negative integer when it is ASCII digits only, else None."""
    return int(text) if is_digits(text) else None


def foreign_digit(text: str) -> str | None:
    """A description of the first number character in ``text`` that is not ASCII 0-9 (e.g.
    ``'\\uff11' (U+FF11 FULLWIDTH DIGIT ONE)``), for an error that says what to fix; None when there is none."""
    for ch in text:
        if ch.isnumeric() and not ch.isascii():
            return f"{ch!r} (U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')})"
    return None


def ascii_digits_problem(text: str, what: str) -> str | None:
    """The error message for ``what`` when ``text`` holds a non-ASCII digit, else None."""
    found = foreign_digit(text)
    return None if found is None else f"{what} must be written with ASCII digits 0-9; {found} is not one"


def integer_or_none(text: str) -> int | None:
    """An optionally signed ASCII integer (``-12``, `` 7 ``), surrounding whitespace allowed; else None."""
    body = text.strip()
    sign = body[:1] if body[:1] in ("-", "+") else ""
    value = digits_or_none(body[len(sign) :])
    return None if value is None else (-value if sign == "-" else value)
