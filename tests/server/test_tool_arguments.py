"""Tool argument checks: every wrong argument gets a specific error naming it."""

import pytest

from labmcp.errors import InvalidArgumentError
from labmcp.server.tools import BY_NAME, TOOLS, check_arguments, tool_list


def test_every_tool_is_read_only_with_schemas() -> None:
    for tool in tool_list(19_000):
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.input_schema["additionalProperties"] is False


def test_defaults_fill_in() -> None:
    args = check_arguments(BY_NAME["read_page"], {"notebook_id": "nb", "page_id": "p"})
    assert args == {"notebook_id": "nb", "page_id": "p", "start_index": 0, "max_chars": None}


@pytest.mark.parametrize(
    ("tool", "args", "message"),
    [
        ("read_page", {"notebook_id": "nb"}, "missing required argument page_id"),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "start_index": "0"}, "start_index must be an integer"),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "start_index": True}, "start_index must be an integer"),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "start_index": -5}, "start_index must be >= 0"),
        ("read_page", {"notebook_id": 5, "page_id": "p"}, "notebook_id must be a string"),
        ("read_page", {"notebook_id": "  ", "page_id": "p"}, "notebook_id must not be empty"),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "bogus": 1}, "unknown argument"),
        ("read_page", {"notebook_id": "x" * 5000, "page_id": "p"}, "longer than"),
        ("read_page", {"notebook_id": "a\x00b", "page_id": "p"}, "control characters"),
        ("search", {"query": "x", "limit": 0}, "limit must be >= 1"),
        ("search", {"query": "x" * 501}, "longer than 500"),
        ("list_notebooks", {"x": 1}, "expected no arguments"),
    ],
)
def test_wrong_arguments_are_named(tool: str, args: dict, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        check_arguments(BY_NAME[tool], args)


def test_integral_floats_are_accepted() -> None:
    args = check_arguments(BY_NAME["search"], {"query": "x", "limit": 5.0})
    assert args["limit"] == 5 and isinstance(args["limit"], int)


def test_tool_names_are_the_contract() -> None:
    assert [t.name for t in TOOLS] == ["list_notebooks", "browse_notebook", "read_page", "search", "get_attachment"]
