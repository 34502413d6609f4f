"""Windows over long text: clean cuts, exact continuation, never a lost or split character."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labmcp.errors import InvalidArgumentError
from labmcp.notebook.budget import Slice, slice_text


def read_all(text: str, max_chars: int) -> list[Slice]:
    pieces = [slice_text(text, 0, max_chars)]
    while pieces[-1].next_start is not None:
        pieces.append(slice_text(text, pieces[-1].next_start, max_chars))
        assert len(pieces) <= len(text) + 1, "no progress"
    return pieces


def test_short_text_fits_in_one_untruncated_slice() -> None:
    piece = slice_text("hello", 0, 100)
    assert piece == Slice("hello", 0, 5, 5, False, None)


def test_long_text_is_cut_after_the_last_newline_near_the_limit() -> None:
    text = "a" * 95 + "\n" + "b" * 100
    piece = slice_text(text, 0, 100)
    assert piece.text == "a" * 95 + "\n"
    assert piece.truncated
    assert piece.next_start == 96


def test_cut_falls_back_to_whitespace_when_no_newline_is_near() -> None:
    text = "x" * 50 + "\n" + "word " * 40
    piece = slice_text(text, 0, 100)
    assert piece.text.endswith(" ")
    assert piece.end > 90


def test_cut_is_hard_when_the_final_tenth_has_no_boundary() -> None:
    text = "a b" + "c" * 200
    assert slice_text(text, 0, 100).end == 100


def test_notice_names_the_window_and_the_next_start_index() -> None:
    text = "x" * 183_412
    notice = slice_text(text, 0, 20_000).notice("read_page")
    assert "characters 0-20000 of 183412" in notice
    assert "start_index=20000" in notice
    assert "read_page" in notice


def test_start_past_the_end_gives_an_empty_final_slice_with_a_notice() -> None:
    piece = slice_text("abc", 10, 5)
    assert piece == Slice("", 3, 3, 3, False, None)
    assert "past the end" in piece.notice("read_page")


def test_crlf_is_never_split() -> None:
    text = "a" * 9 + "\r\n" + "b" * 20
    piece = slice_text(text, 0, 10)
    assert not piece.text.endswith("\r")
    assert "".join(p.text for p in read_all(text, 10)) == text


def test_one_char_window_at_crlf_takes_both_rather_than_stalling() -> None:
    piece = slice_text("\r\nx", 0, 1)
    assert piece.text == "\r\n"


def test_surrogate_pair_is_never_split() -> None:
    text = "a" * 9 + "\ud83d\ude00" + "b" * 20
    assert not slice_text(text, 0, 10).text.endswith("\ud83d")


@pytest.mark.parametrize(("start", "max_chars"), [(-1, 10), (0, 0)])
def test_negative_start_or_empty_window_is_refused(start: int, max_chars: int) -> None:
    with pytest.raises(InvalidArgumentError):
        slice_text("abc", start, max_chars)


@given(st.text(alphabet=st.sampled_from("ab \n\r\t\ud83d\ude00é"), max_size=400), st.integers(1, 60))
def test_consecutive_slices_concatenate_to_the_original(text: str, max_chars: int) -> None:
    pieces = read_all(text, max_chars)
    assert "".join(p.text for p in pieces) == text
    for p in pieces:
        assert len(p.text) <= max(max_chars, 2)
        assert p.text == text[p.start : p.end]
        assert p.truncated == (p.end < p.total)
        if p.truncated:
            assert not (p.text.endswith("\r") and text[p.end] == "\n")
    assert not pieces[-1].truncated
