"""Numbers from people, files and LabArchives count only in ASCII digits: every other script's digits
(full-width, Arabic-Indic, Devanagari, superscripts, ...) are refused with an error naming the character."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime

import pytest

from labmcp.config import load
from labmcp.digits import digits_or_none, integer_or_none, is_digits
from labmcp.errors import ConfigError, InvalidArgumentError
from labmcp.notebook.attachment_search import parse_day
from labmcp.notebook.changes import parse_since
from labmcp.notebook.documents import parse_pages
from labmcp.notebook.markdown import html_to_markdown
from tests.test_config import BASE_ENV

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
# Every character Unicode calls a digit that is not 0-9, with the ASCII digit it stands for.
FOREIGN = [
    (chr(cp), str(unicodedata.digit(chr(cp))))
    for cp in range(128, sys.maxunicode + 1)
    if unicodedata.digit(chr(cp), None) is not None
]


def _swap(text: str, foreign: str, ascii_digit: str) -> str:
    assert ascii_digit in text
    return text.replace(ascii_digit, foreign, 1)


def test_the_oracle_holds_hundreds_of_digits_from_many_scripts() -> None:
    assert len(FOREIGN) > 600 and ("\uff11", "1") in FOREIGN and ("\u00b2", "2") in FOREIGN


@pytest.mark.parametrize(
    ("parse", "valid"),
    [
        (lambda t: parse_since(t, NOW), "1d"),
        (lambda t: parse_since(t, NOW), "2026-11-23T09:00:00Z"),
        (lambda t: parse_day(t, "begin_date", end=False), "2026-03-01"),
        (lambda t: parse_day(t, "end_date", end=True), "2026-03-01T10:00:00+01:00"),
        (lambda t: parse_pages(t, 9, "page"), "3-5"),
    ],
)
def test_every_non_ascii_digit_in_a_tool_argument_is_refused_by_name(parse: object, valid: str) -> None:
    """A full-width ``since`` (U+FF11 then d) was one day; each of Unicode's other digits, in place of an ASCII one, is an error."""
    assert callable(parse)
    parse(valid)  # the ASCII form is fine
    for foreign, ascii_digit in FOREIGN:
        if ascii_digit not in valid:
            continue
        with pytest.raises(InvalidArgumentError, match="ASCII digits 0-9") as refused:
            parse(_swap(valid, foreign, ascii_digit))
        assert f"U+{ord(foreign):04X}" in str(refused.value)


def test_a_setting_written_with_full_width_digits_is_a_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"LABMCP_MAX_DEPTH must be written with ASCII digits.*U\+FF13"):
        load([], {**BASE_ENV, "LABMCP_MAX_DEPTH": "\uff13"})
    with pytest.raises(ConfigError, match=r"--request-interval must be written with ASCII digits.*U\+0661"):
        load(["--request-interval", "\u0661.5"], BASE_ENV)
    assert load([], {**BASE_ENV, "LABMCP_MAX_DEPTH": "3"}).output.max_depth == 3


def test_numbers_from_files_and_upstream_read_ascii_only() -> None:
    for foreign, _ in FOREIGN:
        assert not is_digits(foreign) and digits_or_none(f"1{foreign}") is None
        assert integer_or_none(f"-{foreign}") is None
    assert digits_or_none("0042") == 42 and integer_or_none(" -7 ") == -7 and integer_or_none("+3") == 3
    assert digits_or_none("") is None and integer_or_none("-") is None and integer_or_none("1_000") is None


def test_html_numbers_in_another_scripts_digits_are_ignored_as_browsers_do() -> None:
    """HTML's rules for parsing integers take ASCII digits only (WHATWG HTML §2.3.4.1): a list's
    ``start`` or a cell's ``colspan`` written with a full-width, superscript or Arabic-Indic digit
    is no value at all, so the page reads as if the attribute were absent."""
    plain_list = html_to_markdown("<ol><li>x</li></ol>")
    plain_table = html_to_markdown("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>")
    assert html_to_markdown('<ol start="3"><li>x</li></ol>') != plain_list
    for digit in ("\uff13", "\u00b3", "\u0663"):
        assert html_to_markdown(f'<ol start="{digit}"><li>x</li></ol>') == plain_list
        table = f'<table><tr><td>a</td><td>b</td></tr><tr><td colspan="{digit}">c</td></tr></table>'
        assert html_to_markdown(table) == plain_table
