"""Resource URIs round-trip any id once percent-encoded and refuse everything they did not build."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labmcp.errors import InvalidArgumentError
from labmcp.notebook import uris
from labmcp.notebook.uris import (
    AttachmentTextURI,
    AttachmentURI,
    FolderURI,
    NotebooksURI,
    NotebookURI,
    PageURI,
    attachment_text_uri,
    attachment_uri,
    folder_uri,
    notebook_uri,
    page_uri,
    parse_uri,
)

# A realistic id shape: Base64-like with +, / and = (§3, §8.2).
NB = "MTIzLjR8Nzg5/MTIz+NDU2=="
PAGE = "NjQ1LjV8MTIz/OQ=="


def test_builders_percent_encode_plus_slash_and_equals() -> None:
    assert notebook_uri(NB) == "labarchives://notebooks/MTIzLjR8Nzg5%2FMTIz%2BNDU2%3D%3D"
    assert page_uri(NB, PAGE).endswith("/pages/NjQ1LjV8MTIz%2FOQ%3D%3D")


def test_templates_match_the_builders() -> None:
    assert uris.PAGE_TEMPLATE.format(notebook_id="a", page_id="b") == page_uri("a", "b")
    assert uris.FOLDER_TEMPLATE.format(notebook_id="a", folder_id="b") == folder_uri("a", "b")
    assert uris.ATTACHMENT_TEMPLATE.format(notebook_id="a", page_id="b", entry_id="c") == attachment_uri("a", "b", "c")
    assert uris.NOTEBOOK_TEMPLATE.format(notebook_id="a") == notebook_uri("a")
    text_template = uris.ATTACHMENT_TEXT_TEMPLATE
    assert text_template.format(notebook_id="a", page_id="b", entry_id="c") == attachment_text_uri("a", "b", "c")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("labarchives://notebooks", NotebooksURI()),
        (notebook_uri(NB), NotebookURI(NB)),
        (folder_uri(NB, "f1"), FolderURI(NB, "f1")),
        (page_uri(NB, PAGE), PageURI(NB, PAGE)),
        (attachment_uri(NB, PAGE, "e/1"), AttachmentURI(NB, PAGE, "e/1")),
        (attachment_text_uri(NB, PAGE, "e/1"), AttachmentTextURI(NB, PAGE, "e/1")),
        (attachment_uri(NB, PAGE, "text"), AttachmentURI(NB, PAGE, "text")),
        ("LabArchives://notebooks/a+b", NotebookURI("a+b")),
    ],
)
def test_each_template_parses_to_its_dataclass(uri: str, expected: object) -> None:
    assert parse_uri(uri) == expected


def test_ids_are_decoded_exactly_once() -> None:
    assert parse_uri("labarchives://notebooks/a%252Fb") == NotebookURI("a%2Fb")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("http://notebooks/x", "must start with labarchives://"),
        ("labarchives:notebooks/x", "must start with labarchives://"),
        ("labarchives://notebook/x", "must start with labarchives://notebooks"),
        ("labarchives://notebooks/", "notebook_id is empty"),
        ("labarchives://notebooks/x/pages/", "page_id is empty"),
        ("labarchives://notebooks//pages/p", "notebook_id is empty"),
        ("labarchives://notebooks/x/pages", "does not match"),
        ("labarchives://notebooks/x/pages/p/extra", "does not match"),
        ("labarchives://notebooks/x/folders/f/attachments/e", "does not match"),
        ("labarchives://notebooks/x/pages/p/attachments/e/more", "does not match"),
        ("labarchives://notebooks/x?uid=1", "query or fragment"),
        ("labarchives://notebooks/x#top", "query or fragment"),
        ("labarchives://notebooks/x%2", "malformed percent-escape"),
        ("labarchives://notebooks/x%zz", "malformed percent-escape"),
        ("labarchives://notebooks/%ff%fe", "not valid UTF-8"),
        ("labarchives://notebooks/a%00b", "control characters"),
        ("labarchives://notebooks/a%0Ab", "control characters"),
        ("labarchives://notebooks/a b", "whitespace or control"),
        ("labarchives://notebooks/a\nb", "whitespace or control"),
        ("labarchives://notebooks/" + "a" * 4096, "longer than 4096"),
    ],
)
def test_anything_else_is_refused_with_a_specific_message(uri: str, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        parse_uri(uri)


ids = st.text(min_size=1, max_size=60).filter(lambda s: not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in s))


@given(ids, ids, ids)
def test_every_builder_round_trips_through_parse(nb: str, page: str, eid: str) -> None:
    assert parse_uri(notebook_uri(nb)) == NotebookURI(nb)
    assert parse_uri(folder_uri(nb, page)) == FolderURI(nb, page)
    assert parse_uri(page_uri(nb, page)) == PageURI(nb, page)
    assert parse_uri(attachment_uri(nb, page, eid)) == AttachmentURI(nb, page, eid)
    assert parse_uri(attachment_text_uri(nb, page, eid)) == AttachmentTextURI(nb, page, eid)


@given(st.one_of(st.text(max_size=300), st.text(max_size=300).map(lambda s: "labarchives://notebooks/" + s)))
def test_parse_never_raises_anything_but_invalid_argument(uri: str) -> None:
    with contextlib.suppress(InvalidArgumentError):
        parse_uri(uri)
