"""A new user's first hour, driven through the official SDK client against the real server process.

Claude Desktop hides the server's stderr in a log file, so whatever goes wrong at start must reach
the assistant through the protocol itself.
"""

from __future__ import annotations

import os
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
import trio

from labmcp.fake import demo
from tests.e2e.helpers import server_env, stdio_client, text_of

pytestmark = pytest.mark.slow


async def test_wrong_access_password_is_told_to_the_assistant_and_the_server_keeps_serving(fake: Any) -> None:
    # With subscriptions on, the change watcher must not take the process down with the failed start.
    env = server_env(fake, LABARCHIVES_SECRET="Wrong+Secret/Value=01", LABMCP_SUBSCRIPTION_INTERVAL="1")
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


class _Heading(HTMLParser):
    """The text of a page's <h1>, as the standard library's HTML parser reads it."""

    def __init__(self) -> None:
        super().__init__()
        self.text, self._inside = "", False

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self._inside = tag == "h1"

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.text += data


async def test_demo_citations_open_while_the_demo_runs() -> None:
    """`--demo` cites pages on its built-in fake; those links answer with the page while it runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABARCHIVES_", "LABMCP_", "MCP_"))}
    with trio.fail_after(60):
        async with stdio_client(env, "--demo") as client:
            listed = (await client.call_tool("list_notebooks", {})).structured_content or {}
            nbid = listed["notebooks"][0]["id"]
            items = (await client.call_tool("browse_notebook", {"notebook_id": nbid, "depth": 3})).structured_content
            page = next(i for i in (items or {})["items"] if i["kind"] == "page")
            read = (
                await client.call_tool("read_page", {"notebook_id": nbid, "page_id": page["id"]})
            ).structured_content
            async with httpx.AsyncClient() as http:
                shown = await http.get((read or {})["link"])
                missing = await http.get((read or {})["link"].rsplit("/", 1)[0] + "/no-such-page")
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("text/html")
    heading = _Heading()
    heading.feed(shown.text)
    assert heading.text == page["name"]
    assert missing.status_code == 404
