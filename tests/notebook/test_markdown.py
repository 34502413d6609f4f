"""Rich-text entries (§7.2 ``text entry``) become clean Markdown; messy input never breaks the converter."""

import html
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labmcp.notebook.htmlscan import decode
from labmcp.notebook.markdown import MAX_DEPTH, format_size, html_to_markdown

md = html_to_markdown


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "0 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (5632, "5.5 KB"),
        (1_258_291, "1.2 MB"),
        (1024**3, "1.0 GB"),
        (1024**2 - 1, "1.0 MB"),
    ],
)
def test_format_size_uses_1024_base_and_one_decimal(n: int, text: str) -> None:
    assert format_size(n) == text


def test_headings_become_atx_headings() -> None:
    assert md("<h1>Title</h1><h3>Sub <em>part</em></h3>") == "# Title\n\n### Sub *part*"


def test_paragraphs_and_divs_are_separated_by_one_blank_line() -> None:
    assert md("<p>one</p><div>two</div>three<p></p><p> </p><p>four</p>") == "one\n\ntwo\n\nthree\n\nfour"


def test_br_is_a_hard_line_break_and_double_br_a_new_paragraph() -> None:
    assert md("<p>a<br>b<br/><br>c</p>") == "a  \nb\n\nc"


def test_emphasis_markers_hug_the_text_and_spaces_move_outside() -> None:
    assert md("<p>a<b> bold </b>b <i>it</i> <strong><b>once</b></strong></p>") == "a **bold** b *it* **once**"


def test_underline_keeps_text_and_strike_becomes_tildes() -> None:
    assert md("<p><u>under</u> <s>s</s> <strike>t</strike> <del>d</del></p>") == "under ~~s~~ ~~t~~ ~~d~~"


def test_sub_is_plain_and_sup_is_caret() -> None:
    assert md("<p>H<sub>2</sub>O, 10<sup>6</sup> cells, x<sup>a b</sup></p>") == "H2O, 10^6 cells, x^(a b)"


def test_inline_code_fence_is_longer_than_backticks_inside() -> None:
    assert md("<p><code>a`b</code> <kbd>Ctrl</kbd> <code>*x*</code></p>") == "``a`b`` `Ctrl` `*x*`"


def test_pre_becomes_a_fenced_block_that_keeps_whitespace_and_language() -> None:
    html = '<pre><code class="language-python">def f():\n    return "```"\n</code></pre>'
    assert md(html) == '````python\ndef f():\n    return "```"\n````'


def test_pre_keeps_markdown_characters_unescaped() -> None:
    assert md("<pre># not *a* heading\n- x</pre>") == "```\n# not *a* heading\n- x\n```"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("https://example.org/a", "[go](https://example.org/a)"),
        ("http://example.org/a b(c)", "[go](http://example.org/a%20b%28c%29)"),
        ("mailto:someone@example.org", "[go](mailto:someone@example.org)"),
        ("javascript:alert(1)", "go"),
        (" JAVASCRIPT:alert(1)", "go"),
        ("data:text/html,<script>", "go"),
        ("/relative/path", "go"),
        ("file:///etc/passwd", "go"),
    ],
)
def test_links_keep_only_web_and_mail_targets(href: str, expected: str) -> None:
    assert md(f'<a href="{href}">go</a>') == expected


def test_link_text_brackets_are_escaped_and_empty_links_show_nothing() -> None:
    assert md('<a href="https://x.org">[1]</a> <a href="https://y.org"></a>') == "[\\[1\\]](https://x.org)"


def test_data_uri_images_become_a_short_placeholder() -> None:
    payload = "A" * 16_384
    out = md(f'<p>gel <img alt="lane 3" src="data:image/png;base64,{payload}"> done</p>')
    assert out == "gel [inline image: image/png, 12.0 KB, alt: lane 3] done"


def test_base64_pasted_as_text_is_also_replaced() -> None:
    out = md("<p>data:image/jpeg;base64," + "QUJD" * 100 + "</p>")
    assert out == "[inline data: image/jpeg, 300 B]"


def test_remote_images_keep_alt_and_other_images_become_a_label() -> None:
    html = '<img src="https://x.org/a.png" alt="plot"><img src="cid:1" alt="scan"><img src="x.png">'
    assert md(html) == "![plot](https://x.org/a.png)[image: scan][image]"


def test_unordered_lists_nest_with_indentation() -> None:
    html = "<ul><li>one</li><li>two<ul><li>nested <b>b</b></li></ul></li><li>three</li></ul>"
    assert md(html) == "- one\n- two\n  - nested **b**\n- three"


def test_ordered_lists_honour_start_and_value_and_indent_by_marker_width() -> None:
    html = '<ol start="9"><li>nine</li><li>ten<ul><li>sub</li></ul></li><li value="20">twenty</li><li>next</li></ol>'
    assert md(html) == "9. nine\n10. ten\n    - sub\n20. twenty\n21. next"


def test_list_nested_directly_in_a_list_attaches_to_the_previous_item() -> None:
    assert md("<ul><li>a</li><ul><li>b</li></ul></ul>") == "- a\n  - b"


def test_list_items_with_paragraphs_keep_their_text() -> None:
    assert md("<ul><li><p>first</p><p>second</p></li><li>x</li></ul>") == "- first\n\n  second\n- x"


def test_unclosed_list_items_close_each_other() -> None:
    assert md("<ul><li>a<li>b</ul><p>after") == "- a\n- b\n\nafter"


def test_tables_become_pipe_tables_with_a_header_row() -> None:
    html = "<table><thead><tr><th>a|b</th><th>c</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody></table>"
    assert md(html) == "| a\\|b | c |\n| --- | --- |\n| 1 | 2 |"


def test_short_rows_end_early_and_colspan_covers_cells_under_an_empty_header() -> None:
    html = "<table><tr><td>a</td><td>b</td><td>c</td></tr><tr><td colspan=2>wide</td></tr><tr><td>x</td></tr></table>"
    assert md(html) == "|  |  |  |\n| --- | --- | --- |\n| a | b | c |\n| wide |\n| x |"


def test_table_cells_with_breaks_and_paragraphs_are_flattened() -> None:
    html = "<table><tr><th>h</th><th>i</th></tr><tr><td><p>p1</p><p>p2</p></td><td>x<br>y</td></tr></table>"
    assert md(html) == "| h | i |\n| --- | --- |\n| p1<br>p2 | x<br>y |"


def test_one_cell_layout_table_is_unwrapped() -> None:
    assert md("<table><tr><td><p>only</p><p>box</p></td></tr></table>") == "only\n\nbox"


def test_cells_outside_rows_still_form_a_table() -> None:
    assert md("<table><td>a</td><td>b</td></table>") == "|  |  |\n| --- | --- |\n| a | b |"


def test_blockquote_and_hr() -> None:
    assert md("<blockquote><p>q1</p><p>q2</p></blockquote><hr><p>after</p>") == "> q1\n>\n> q2\n\n---\n\nafter"


def test_entities_are_decoded_and_nbsp_is_a_space() -> None:
    assert md("<p>a&nbsp;&nbsp;b &amp; &eacute; &#x3b1; &lt;i&gt;</p>") == "a b & é α \\<i>"


def test_script_style_head_title_and_comments_are_dropped() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<script>alert('x')</script><!-- note --><p>kept</p><noscript>no</noscript></body></html>"
    )
    assert md(html) == "kept"


def test_word_paste_noise_is_dropped() -> None:
    html = (
        "<!--[if gte mso 9]><xml><w:WordDocument>Normal</w:WordDocument></xml><![endif]-->"
        '<p class="MsoNormal"><![if !supportLists]><span>1.<span>&nbsp;&nbsp; </span></span><![endif]>'
        "Add buffer<o:p></o:p></p>"
    )
    assert md(html) == "1\\. Add buffer"


def test_unknown_tags_keep_their_text() -> None:
    assert md("<p><foo-bar>x</foo-bar> <font color=red>y</font> <mark>z</mark></p>") == "x y z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*not emphasis*", "\\*not emphasis\\*"),
        ("# not a heading", "\\# not a heading"),
        ("#hashtag", "#hashtag"),
        ("> not a quote", "\\> not a quote"),
        ("- not a list", "\\- not a list"),
        ("+ not a list", "\\+ not a list"),
        ("-5 °C", "-5 °C"),
        ("1. not a list", "1\\. not a list"),
        ("2023) not a list", "2023\\) not a list"),
        ("snake_case and file_name_v2", "snake_case and file_name_v2"),
        ("__init__", "\\_\\_init\\_\\_"),
        ("2 * 3 = 6", "2 * 3 = 6"),
        ("a*b*c", "a\\*b\\*c"),
        ("use `ls`", "use \\`ls\\`"),
        ("~5 mL, about ~~", "\\~5 mL, about \\~\\~"),
        ("[1]: ref", "\\[1\\]: ref"),
        ("[x](y)", "\\[x\\](y)"),
        ("C:\\Users\\lab", "C:\\Users\\lab"),
        ("a \\* b", "a \\\\\\* b"),
        ("&copy;", "\\&copy;"),
        ("Plain text, with (parens), 50% and 3 < 4.", "Plain text, with (parens), 50% and 3 < 4."),
    ],
)
def test_text_is_escaped_only_where_it_would_become_markup(text: str, expected: str) -> None:
    assert md(f"<p>{text.replace('&', '&amp;').replace('<', '&lt;')}</p>") == expected


def test_line_start_escapes_apply_after_line_breaks_too() -> None:
    assert md("<p>title<br>===<br># x</p>") == "title  \n\\===  \n\\# x"


def test_whitespace_is_collapsed_like_a_browser() -> None:
    assert md("<p>  a \n\t b  <span> c </span>\n</p>\n\n\n<p>d</p>") == "a b c\n\nd"


def test_malformed_html_is_recovered() -> None:
    assert md("<p>unclosed <b>bold <i>both") == "unclosed **bold *both***"
    assert md("<div>a</span></div></p>b</br>c") == "a\n\nb  \nc"
    assert md("<p>text <b") == "text \\<b"


def test_deep_nesting_is_capped_without_losing_text() -> None:
    out = md("<div><span>" * (MAX_DEPTH * 5) + "deep" + "</span></div>" * (MAX_DEPTH * 5) + "<p>after</p>")
    assert out == "deep\n\nafter"


@pytest.mark.parametrize(
    "html",
    [
        "<p>Hello <b>world</b> <a href='https://x.org'>l</a><br><img src='data:image/png;base64,QUJD'></p>" * 2000,
        "<table><tr>" + "<td>x</td>" * 20000 + "</tr></table>",
        "<ul><li>x" * 20000,
        "<!--" * 50000,
        "<a " * 66000,
        "<a href='" * 22000,
        "</" * 100000,
        "<![" * 66000,
        "<" * 200000,
        "<div>x" * 33000,
    ],
)
def test_200_kb_inputs_convert_in_linear_time(html: str) -> None:
    start = time.perf_counter()
    md(html)
    assert time.perf_counter() - start < 5


_TAGS = [
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<br>",
    "<b>",
    "</b>",
    "<i>",
    "</i>",
    "<ul>",
    "</ul>",
    "<ol start='3'>",
    "</ol>",
    "<li>",
    "</li>",
    "<table>",
    "</table>",
    "<tr>",
    "<td colspan=3>",
    "<th>",
    "</td>",
    "<pre>",
    "</pre>",
    "<code>",
    "</code>",
    "<blockquote>",
    "</blockquote>",
    "<h2>",
    "</h2>",
    "<a href='https://x.org/(a)'>",
    "</a>",
    "<a href='javascript:x'>",
    "<hr>",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "<![if x]>",
    "<sup>",
    "&nbsp;",
    "&amp;",
    "&lt;",
    "<",
    ">",
    "\n",
    "  ",
    "<img src='https://x/y.png' alt='[a]'>",
    "<s>",
    "</s>",
    "</br>",
    '<img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==">',
    "<img src='data:image/gif;base64,R0lGODlhAQABAAAAACw='>",
]
_TEXT = st.text(alphabet=st.sampled_from("ab *_`~#>-+1.|[]()!\\\t\r\u00a0\x00\x01é"), max_size=12)
_HTML = st.lists(st.one_of(st.sampled_from(_TAGS), _TEXT), max_size=40).map("".join)


@settings(max_examples=300)
@given(_HTML)
def test_any_html_converts_without_base64_or_runs_of_blank_lines(html: str) -> None:
    out = md(html)
    assert "base64," not in out
    assert "\n\n\n" not in out
    assert "\x01" not in out
    assert out == out.strip()


@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    assert "\n\n\n" not in md(text)


_REF_PIECES = st.sampled_from(
    ["&", ";", "#", "x", "38", "nbsp", "amp", "lt", "times", "mu", "micro", "ampx", "nbs", " ", "\n", "a", "é"]
)


@settings(max_examples=500)
@given(st.lists(_REF_PIECES, max_size=16).map("".join))
def test_the_tokenisers_reference_decoding_is_html_unescape(text: str) -> None:
    """The shortcut for common named references decodes exactly as the standard library does."""
    assert decode(text) == html.unescape(text)
