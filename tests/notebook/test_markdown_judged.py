"""HTML to Markdown judged by independent parsers (markdown-it-py and cmarkgfm) against html.parser.

Each case is HTML a person could write; the oracle reads the input with the standard library's
``html.parser`` and our Markdown with two real CommonMark + GFM parsers, and compares what a reader
sees: the text, every code block byte for byte, every table value under its header.
"""

from __future__ import annotations

import html as html_lib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labmcp.notebook.markdown import html_to_markdown
from tests.notebook.judge import Facts, read, read_markdown, span_layouts

WORDS = [
    "Note:", "Keep", "(1)", "buffer", "snake", "_case", "word", "「这里」", "请点击", "来", "OD600", "a*b", "x_y",
    "**", "__", "~~", "*", "_", "C:\\", "<v2>", "rack <B>", "[1]", "[x](y)", "`ls`", "#", "1.", "2)", "-", "+",
    ">", "|", "&", "&amp;", "é", "µL", "°C", "±", "!", "?", ".", ",", "—", "“q”", "0.45", "\\", "<!-- x -->",
]  # fmt: skip
EMPHASIS = ["b", "i", "strong", "em", "s"]


def _text(word: str, before: bool, after: bool) -> str:
    return (" " if before else "") + html_lib.escape(word, quote=False) + (" " if after else "")


@st.composite
def inline(draw: st.DrawFn, depth: int = 0) -> str:
    """A run of inline HTML: words (with or without spaces around), emphasis, links, code, breaks."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["text", "text", "text", "emph", "link", "code", "br"] if depth < 2 else ["text"]))
        if kind == "text":
            parts.append(_text(draw(st.sampled_from(WORDS)), draw(st.booleans()), draw(st.booleans())))
        elif kind == "emph":
            tag = draw(st.sampled_from(EMPHASIS))
            parts.append(f"<{tag}>{draw(inline(depth + 1))}</{tag}>")
        elif kind == "link":
            href = draw(st.sampled_from(["https://x.org/a(b)", "javascript:alert(1)", "mailto:a@b.org", "data:x"]))
            parts.append(f'<a href="{href}">{draw(inline(depth + 1))}</a>')
        elif kind == "code":
            parts.append(f"<code>{html_lib.escape(draw(st.sampled_from(WORDS)))}</code>")
        else:
            parts.append("<br>")
    return "".join(parts)


CODE_LINES = ["", " ", "   ", "\t", "x = 1", "  indented", "`", "```", "~~~", "a  b  ", "<tag>", "&amp;", "# no"]


@st.composite
def pre(draw: st.DrawFn) -> tuple[str, str]:
    """A <pre> block and the code a browser shows for it (one newline after <pre> is dropped)."""
    code = "\n".join(draw(st.lists(st.sampled_from(CODE_LINES), min_size=1, max_size=6)))
    text = draw(st.sampled_from(["", "\n"])) + code
    return f"<pre>{html_lib.escape(text, quote=False)}</pre>", text[1:] if text.startswith("\n") else text


@st.composite
def document(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A document of blocks, and the code of each <pre> in it, in order."""
    blocks: list[str] = []
    codes: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["p", "p", "h2", "ul", "ol", "pre", "quote", "pre-in-li", "div"]))
        if kind in ("p", "h2", "div"):
            blocks.append(f"<{kind}>{draw(inline())}</{kind}>")
        elif kind in ("ul", "ol"):
            items = "".join(f"<li>{draw(inline())}</li>" for _ in range(draw(st.integers(1, 3))))
            blocks.append(f"<{kind}>{items}</{kind}>")
        elif kind == "pre":
            block, code = draw(pre())
            blocks.append(block)
            codes.append(code)
        elif kind == "pre-in-li":
            block, code = draw(pre())
            blocks.append(f"<ul><li>{draw(inline())}{block}</li></ul>")
            codes.append(code)
        else:
            blocks.append(f"<blockquote><p>{draw(inline())}</p></blockquote>")
    return "".join(blocks), codes


def code_of(code: str) -> str:
    """What a CommonMark parser gives for a fenced block of ``code``: every line ends in a newline."""
    return code if code.endswith("\n") or not code else code + "\n"


def judged(markdown: str) -> list[Facts]:
    seen = read_markdown(markdown)
    assert seen[0].text == seen[1].text, markdown
    return seen


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document())
def test_readers_see_the_same_text_and_code_as_in_the_html(case: tuple[str, list[str]]) -> None:
    source, codes = case
    markdown = html_to_markdown(source)
    expected = read(source)
    for facts in judged(markdown):
        assert facts.text == expected.text, markdown
        assert facts.code_blocks == [code_of(c) for c in codes if c], markdown


@pytest.mark.parametrize(
    ("html", "text", "emphasis"),
    [
        ("<b>Note:</b>Keep", "Note:Keep", []),
        ("<b>(1)</b>buffer", "(1)buffer", []),
        ("snake<em>_case</em>word", "snake_caseword", []),
        ("请点击<strong>「这里」</strong>来", "请点击「这里」来", []),
        ("<b>Note:</b> Keep", "Note: Keep", ["Note:"]),
        ("a <b>bold </b>b <i> it</i>", "a bold b it", ["bold", "it"]),
        ("<b><i>both</i></b>", "both", ["both", "both"]),
        ("<b>a</b><i>b</i>", "ab", []),  # touching runs: plain text
        ("<b>a</b> <i>b</i>", "a b", ["a", "b"]),
        ("<s>gone</s>", "gone", []),
    ],
)
def test_emphasis_only_where_commonmark_parses_it(html: str, text: str, emphasis: list[str]) -> None:
    for facts in judged(html_to_markdown(html)):
        assert facts.text == text
        assert sorted(facts.emphasis) == sorted(emphasis)


@pytest.mark.parametrize(
    ("html", "code"),
    [
        ("<pre>foo\n\n\nbar</pre>", "foo\n\n\nbar\n"),
        ("<pre>a\n   \nb</pre>", "a\n   \nb\n"),
        ("<pre>\nlead</pre>", "lead\n"),
        ("<pre>x ``` y\n````</pre>", "x ``` y\n````\n"),
        ("<ul><li>item<pre>a\n\n  \n b</pre></li></ul>", "a\n\n  \n b\n"),
        ("<blockquote><pre>q\n\n  q</pre></blockquote>", "q\n\n  q\n"),
    ],
)
def test_pre_is_kept_byte_for_byte(html: str, code: str) -> None:
    for facts in judged(html_to_markdown(html)):
        assert facts.code_blocks == [code]


def test_rowspan_keeps_each_value_under_its_header() -> None:
    html = (
        "<table><tr><th>Sample</th><th>Replicate</th><th>OD600</th></tr>"
        '<tr><td rowspan="2">WT</td><td>1</td><td>0.42</td></tr><tr><td>2</td><td>0.45</td></tr></table>'
    )
    for facts in judged(html_to_markdown(html)):
        (table,) = facts.tables
        assert table.header == ["Sample", "Replicate", "OD600"]
        assert table.rows == [["WT", "1", "0.42"], ["", "2", "0.45"]]


def test_a_nested_table_follows_the_outer_one_and_its_cell_points_to_it() -> None:
    html = (
        "<table><tr><th>Plate</th><th>Reads</th></tr><tr><td>Plate A</td><td>"
        "<table><tr><th>Well</th><th>A450</th></tr><tr><td>A1</td><td>0.81</td></tr></table>"
        "</td></tr></table><p>after</p>"
    )
    markdown = html_to_markdown(html)
    for facts in judged(markdown):
        outer, inner = facts.tables
        assert outer.header == ["Plate", "Reads"]
        assert outer.rows == [["Plate A", "→ table 1 below the table"]]
        assert inner.header == ["Well", "A450"]
        assert inner.rows == [["A1", "0.81"]]
    assert markdown.index("Table 1 (from a cell above):") < markdown.index("| Well |") < markdown.index("after")


def test_a_code_block_in_a_cell_follows_the_table_byte_for_byte() -> None:
    html = "<table><tr><th>step</th><th>code</th></tr><tr><td>1</td><td><pre>a\n\n  b</pre></td></tr></table>"
    for facts in judged(html_to_markdown(html)):
        (table,) = facts.tables
        assert table.rows == [["1", "→ code block 1 below the table"]]
        assert facts.code_blocks == ["a\n\n  b\n"]


@st.composite
def html_tables(draw: st.DrawFn) -> tuple[str, list[str], dict[str, tuple[int, int]]]:
    """A generated table of rectangles (one header row of <th>, maybe in <thead>) as HTML, with each
    value's row and column; some values are bold or italic."""
    width, layout = draw(span_layouts())
    rows = ["<tr>" + "".join(f"<th>h{c}</th>" for c in range(width)) + "</tr>"]
    for row in layout:
        cells = []
        for p in row:
            spans = (f' colspan="{p.wide}"' if p.wide > 1 else "") + (f' rowspan="{p.tall}"' if p.tall > 1 else "")
            emphasis = draw(st.sampled_from(["", "b", "i"]))
            inner = f"<{emphasis}>{p.value}</{emphasis}>" if emphasis else p.value
            cells.append(f"<td{spans}>{inner}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = f"<thead>{rows[0]}</thead><tbody>{''.join(rows[1:])}</tbody>" if draw(st.booleans()) else "".join(rows)
    placed = {p.value: (p.row, p.column) for row in layout for p in row}
    return f"<table>{body}</table>", [f"h{c}" for c in range(width)], placed


@settings(max_examples=150, deadline=None)
@given(html_tables())
def test_every_table_value_sits_under_its_header(case: tuple[str, list[str], dict[str, tuple[int, int]]]) -> None:
    source, headers, placed = case
    for facts in judged(html_to_markdown(source)):
        (table,) = facts.tables
        assert table.header == headers
        columns = {value: c for line in table.rows for c, value in enumerate(line) if value}
        assert columns == {value: c for value, (_, c) in placed.items()}
