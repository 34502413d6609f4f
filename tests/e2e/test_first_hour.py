"""A new user's first hour, driven through the official SDK client against the real server process.

Claude Desktop hides the server's stderr in a log file, so whatever goes wrong at start must reach
the assistant through the protocol itself.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio

from labmcp.fake import demo
from tests.e2e.helpers import server_env, stdio_client, text_of

pytestmark = pytest.mark.slow


async def test_wrong_access_password_is_told_to_the_assistant_and_the_server_keeps_serving(fake: Any) -> None:
    env = server_env(fake, LABARCHIVES_SECRET="Wrong+Secret/Value=01")
    with trio.fail_after(60):
        async with stdio_client(env) as client:
            tools = await client.list_tools()
            assert {t.name for t in tools.tools} >= {"list_notebooks", "search"}
            for _ in range(2):  # the second call is answered as well: the session is alive
                result = await client.call_tool("list_notebooks", {})
                assert result.is_error
                text = text_of(result)
                assert "could not start" in text and "4520" in text and "restart" in text, text
                assert "Wrong+Secret" not in text


async def test_a_notebook_name_typo_lists_the_names_that_exist(fake: Any) -> None:
    names = [nb.name for nb in fake.store.visible_notebooks(fake.credentials.uid)]
    assert names
    env = server_env(fake, LABARCHIVES_NOTEBOOK_NAME="Protien Lab")
    with trio.fail_after(60):
        async with stdio_client(env) as client:
            result = await client.call_tool("search", {"query": "PCR"})
    text = text_of(result)
    assert result.is_error and "LABARCHIVES_NOTEBOOK_NAME 'Protien Lab'" in text, text
    assert "the notebooks are:" in text, text
    for name in names:
        assert repr(name) in text


async def test_an_empty_search_says_what_was_searched_where_and_what_to_try(fake: Any) -> None:
    env = server_env(fake, LABARCHIVES_NOTEBOOK_NAME=demo.DEFAULT_NOTEBOOK, LABARCHIVES_FOLDER_PATH="Projects")
    with trio.fail_after(60):
        async with stdio_client(env) as client:
            result = await client.call_tool("search", {"query": "zymurgy"})
    text = text_of(result)
    assert not result.is_error and "0 result(s)" in text
    assert "zymurgy" in text and "Projects" in text and "Molecular Biology Lab" in text
    assert "quoted phrase" in text and "OR" in text
