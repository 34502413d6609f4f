"""The consent page shows a client-chosen name so that what a person reads is what the client sent."""

from __future__ import annotations

import sys
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from labmcp.auth.pages import MAX_SHOWN_CHARS, shown

HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
FORMAT_CHARACTERS = [chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"]


def test_every_format_character_is_written_out_never_passed_through() -> None:
    """All of Unicode's format characters (bidi overrides and isolates, zero-width joiners, tags, ...)."""
    for ch in FORMAT_CHARACTERS:
        assert shown(f"a{ch}b") == f"a[U+{ord(ch):04X}]b", hex(ord(ch))


def test_a_right_to_left_override_cannot_make_a_name_read_as_another() -> None:
    assert shown("Claude\u202egnp.exe") == "Claude[U+202E]gnp.exe"
    assert shown("\u2067Trusted App\u2069\u2028line two") == "[U+2067]Trusted App[U+2069][U+2028]line two"
    assert shown("\u3164\u115f") == "[U+3164][U+115F]"  # Hangul fillers: letters that draw nothing


@given(st.text(max_size=400))
def test_what_is_shown_has_no_invisible_character_and_is_capped(name: str) -> None:
    out = shown(name)
    assert len(out) <= MAX_SHOWN_CHARS
    assert not any(unicodedata.category(ch) in HIDDEN for ch in out)
    assert "  " not in out and out == out.strip()
