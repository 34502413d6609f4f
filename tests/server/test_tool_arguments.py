"""Tool argument checks: every wrong argument gets a specific error naming it."""

import jsonschema
import pytest

from labmcp.errors import ConfigError, InvalidArgumentError
from labmcp.server.arguments import ToolLimits, check_arguments
from labmcp.server.catalog import BY_NAME, TOOLS, enabled_tools
from labmcp.server.tools import tool_list, tool_spec

LIMITS = ToolLimits(content_limit=19_000, max_depth=5, enabled=enabled_tools(()))


def test_every_tool_is_read_only_with_schemas() -> None:
    for tool in tool_list(LIMITS):
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.annotations.destructive_hint is False
        assert tool.output_schema and tool.output_schema["type"] == "object"
        assert tool.input_schema["additionalProperties"] is False


def test_defaults_fill_in() -> None:
    args = check_arguments(BY_NAME["read_page"], {"notebook_id": "nb", "page_id": "p"}, LIMITS)
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
        ("search", {"query": "x", "limit": 51}, "limit must be <= 50"),
        ("browse_notebook", {"notebook_id": "nb", "depth": 6}, "depth must be <= 5"),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "max_chars": 19_001}, "max_chars must be <= 19000"),
        ("search", {"query": "x" * 501}, "longer than 500"),
        ("list_notebooks", {"x": 1}, "expected no arguments"),
    ],
)
def test_wrong_arguments_are_named(tool: str, args: dict, message: str) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        check_arguments(BY_NAME[tool], args, LIMITS)


def test_integral_floats_are_accepted() -> None:
    args = check_arguments(BY_NAME["search"], {"query": "x", "limit": 5.0}, LIMITS)
    assert args["limit"] == 5 and isinstance(args["limit"], int)


def test_tool_names_are_the_contract() -> None:
    assert [t.name for t in TOOLS] == [
        "list_notebooks",
        "browse_notebook",
        "read_page",
        "search",
        "search_attachments",
        "get_attachment",
        "recent_changes",
    ]


@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("search", {"query": "x", "limit": 51}),
        ("browse_notebook", {"notebook_id": "nb", "depth": 6}),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "max_chars": 19_001}),
        ("read_page", {"notebook_id": "nb", "page_id": "p", "start_index": -1}),
    ],
)
def test_the_advertised_schema_refuses_what_the_server_refuses(tool: str, args: dict) -> None:
    """jsonschema (an independent validator) judges the advertised inputSchema: it must refuse the same values."""
    schema = next(t.input_schema for t in tool_list(LIMITS) if t.name == tool)
    jsonschema.Draft202012Validator.check_schema(schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(args, schema)
    with pytest.raises(InvalidArgumentError):
        check_arguments(BY_NAME[tool], args, LIMITS)


def test_output_schemas_are_valid_and_single_typed() -> None:
    for tool in tool_list(LIMITS):
        assert tool.output_schema is not None
        jsonschema.Draft202012Validator.check_schema(tool.output_schema)
        assert not [v for k, v in _walk(tool.output_schema) if k == "type" and isinstance(v, list)], tool.name


def _walk(node: object) -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((key, value))
            found += _walk(value)
    elif isinstance(node, list):
        for value in node:
            found += _walk(value)
    return found


def test_tools_setting_allows_or_denies() -> None:
    assert enabled_tools(("read_page", "search")) == {"read_page", "search"}
    assert enabled_tools(("-get_attachment",)) == set(BY_NAME) - {"get_attachment"}
    limits = ToolLimits(19_000, 5, enabled_tools(("-search",)))
    assert "search" not in {t.name for t in tool_list(limits)}
    with pytest.raises(InvalidArgumentError, match="turned off by the administrator"):
        tool_spec("search", limits)


@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (("read_pages",), "unknown tool"),
        (("read_page", "-search"), "not both"),
        (tuple(f"-{name}" for name in BY_NAME), "no tool enabled"),
    ],
)
def test_tools_setting_errors_are_specific(selection: tuple[str, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        enabled_tools(selection)
