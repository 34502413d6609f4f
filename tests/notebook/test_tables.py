"""Tables laid out like a browser (HTML table model), judged by real GFM parsers: each value under its header."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from labmcp.notebook.tables import Cell, gfm_table
from tests.notebook.judge import Table, read_markdown, span_layouts


def tables(markdown: str) -> list[Table]:
    """The one table each parser sees; both parsers must agree."""
    seen = [facts.tables for facts in read_markdown(markdown)]
    assert seen[0] == seen[1], markdown
    assert len(seen[0]) == 1, markdown
    return seen[0]


def H(text: str, colspan: int = 1, rowspan: int = 1) -> Cell:
    return Cell(text, colspan, rowspan, header=True)


def test_rowspan_keeps_later_values_under_their_headers() -> None:
    rows = [
        [H("Sample"), H("Replicate"), H("OD600")],
        [Cell("WT", rowspan=2), Cell("1"), Cell("0.42")],
        [Cell("2"), Cell("0.45")],
    ]
    (table,) = tables(gfm_table(rows))
    assert table.header == ["Sample", "Replicate", "OD600"]
    assert table.rows == [["WT", "1", "0.42"], ["", "2", "0.45"]]


def test_a_header_spanning_columns_names_each_column_and_header_rows_merge() -> None:
    rows = [
        [H("Sample", rowspan=2), H("OD600", colspan=2)],
        [H("t0"), H("t1")],
        [Cell("WT"), Cell("0.1"), Cell("0.4")],
    ]
    (table,) = tables(gfm_table(rows))
    assert table.header == ["Sample", "OD600 / t0", "OD600 / t1"]
    assert table.rows == [["WT", "0.1", "0.4"]]


def test_thead_rows_are_the_header_even_when_made_of_td() -> None:
    (table,) = tables(gfm_table([[Cell("a"), Cell("b")], [Cell("1"), Cell("2")]], head_rows=1))
    assert table.header == ["a", "b"]


def test_a_table_without_header_cells_gets_an_empty_header_not_a_promoted_data_row() -> None:
    (table,) = tables(gfm_table([[Cell("1"), Cell("2")], [Cell("3")]]))
    assert table.header == ["", ""]
    assert table.rows == [["1", "2"], ["3", ""]]


def test_colspan_in_the_body_leaves_the_covered_slots_empty() -> None:
    rows = [[H("a"), H("b"), H("c")], [Cell("wide", colspan=2), Cell("z")], [Cell("x")]]
    (table,) = tables(gfm_table(rows))
    assert table.rows == [["wide", "", "z"], ["x", "", ""]]


def test_rowspan_zero_runs_to_the_end_of_its_group_and_spans_are_clipped_there() -> None:
    rows = [[H("a"), H("b")], [Cell("x", rowspan=0), Cell("1")], [Cell("2")], [Cell("3", rowspan=9)]]
    (table,) = tables(gfm_table(rows, head_rows=1))
    assert table.rows == [["x", "1"], ["", "2"], ["", "3"]]
    (table,) = tables(gfm_table([[Cell("t", rowspan=2)], [Cell("u")]], head_rows=1))
    assert table.header == ["t"]
    assert table.rows == [["u"]]


def test_a_header_cell_spanning_into_data_rows_is_said_not_guessed() -> None:
    rows = [[H("k", rowspan=2), H("v")], [Cell("1")]]
    out = gfm_table(rows)
    assert out.startswith("[Table note: a header cell spans into data rows")


def test_too_many_columns_are_said_and_kept_in_the_last_column() -> None:
    out = gfm_table([[Cell(str(i)) for i in range(6)]], max_columns=4)
    assert "it has 6 columns; columns 4 to 6 are shown together in column 4" in out
    (table,) = tables(out)
    assert table.rows == [["0", "1", "2", "3 ¦ 4 ¦ 5"]]


def test_pipes_and_line_breaks_stay_inside_their_cell() -> None:
    (table,) = tables(gfm_table([[H("a|b"), H("c")], [Cell("x\ny"), Cell("C:\\")]]))
    assert table.header == ["a|b", "c"]
    assert table.rows == [["x y", "C:\\"]]


def test_a_table_with_no_text_is_nothing() -> None:
    assert gfm_table([[Cell(""), Cell(" ")], []]) == ""


@st.composite
def spanned_tables(draw: st.DrawFn) -> tuple[list[list[Cell]], list[str], dict[str, tuple[int, int]]]:
    """A generated grid of rectangles under one header row: the rows, the header name of each
    column and, for each data value, its (row, column)."""
    width, layout = draw(span_layouts())
    rows = [[H(f"h{c}") for c in range(width)]] + [[Cell(p.value, p.wide, p.tall) for p in row] for row in layout]
    placed = {p.value: (p.row, p.column) for row in layout for p in row}
    return rows, [f"h{c}" for c in range(width)], placed


@settings(max_examples=150, deadline=None)
@given(spanned_tables())
def test_every_value_sits_under_its_header_and_beside_its_row(
    case: tuple[list[list[Cell]], list[str], dict[str, tuple[int, int]]],
) -> None:
    rows, headers, placed = case
    (table,) = tables(gfm_table(rows))
    assert table.header == headers
    seen: dict[str, tuple[int, int]] = {}
    for r, line in enumerate(table.rows):
        assert len(line) == len(headers)
        for c, value in enumerate(line):
            if value:
                seen[value] = (r, c)
    assert {v: c for v, (_, c) in seen.items()} == {v: c for v, (_, c) in placed.items()}
    # values from one source row share one output row, in source order
    by_source: dict[int, set[int]] = {}
    for value, (r, _) in placed.items():
        by_source.setdefault(r, set()).add(seen[value][0])
    assert all(len(out_rows) == 1 for out_rows in by_source.values())
    assert [min(by_source[r]) for r in sorted(by_source)] == sorted(min(v) for v in by_source.values())
