"""OAuth-mode test kit: the institution fake, real server processes, a scripted browser, the SDK's OAuth client.

The browser is httpx with a cookie jar: it follows our redirects one by one, reads each HTML form
with the standard library's ``html.parser`` and submits it as a browser would (hidden fields plus
the pressed button). The OAuth client is the SDK's own ``OAuthClientProvider`` (discovery,
dynamic registration, PKCE, token exchange and refresh), so neither side is judged by our code.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import httpx2
import trio
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from labmcp.fake import FakeLabArchives, institution
from tests.e2e.helpers import server_command

REDIRECT_URI = "http://127.0.0.1:1/callback"
"""The client's registered redirect URI; the scripted browser stops there instead of loading it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_keys(path: Path, *kids: str) -> Path:
    """A token keys file with fresh random keys for ``kids`` (the first seals)."""
    path.write_text("".join(f"{kid}={base64.b64encode(os.urandom(32)).decode()}\n" for kid in kids))
    return path


def oauth_env(fake: FakeLabArchives, keys: Path, public_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABARCHIVES_", "LABMCP_", "MCP_"))}
    env.update(
        LABARCHIVES_API_BASE=fake.base_url,
        LABARCHIVES_AKID=institution.AKID,
        LABARCHIVES_SECRET=institution.PASSWORD,
        LABARCHIVES_REQUEST_INTERVAL="0",
        LABARCHIVES_RETRY_BACKOFF="0",
        LABMCP_TRANSPORT="http",
        LABMCP_AUTH="oauth",
        LABMCP_PUBLIC_URL=public_url,
        LABMCP_TOKEN_KEYS_FILE=str(keys),
    )
    env.update(extra)
    return env


@dataclass
class Replica:
    process: trio.Process
    port: int
    health: int


@asynccontextmanager
async def replica(env: Mapping[str, str], port: int | None = None, log: Path | None = None) -> AsyncIterator[Replica]:
    """One real server process on ``port``, yielded once its readiness probe answers 200."""
    port = port or free_port()
    health = free_port()
    args = [*server_command(), "--port", str(port), "--health-port", str(health)]
    async with trio.open_nursery() as nursery:
        with log.open("ab") if log else open(os.devnull, "wb") as sink:  # noqa: PTH123
            process: trio.Process = await nursery.start(
                lambda task_status=trio.TASK_STATUS_IGNORED: trio.run_process(
                    args, env=dict(env), check=False, stderr=sink, stdout=subprocess.DEVNULL, task_status=task_status
                )
            )
            try:
                with trio.fail_after(60):
                    while True:
                        try:
                            async with httpx.AsyncClient() as http:
                                if (await http.get(f"http://127.0.0.1:{health}/health/ready")).status_code == 200:
                                    break
                        except httpx.TransportError:
                            pass
                        assert process.returncode is None, "the server exited during start-up"
                        await trio.sleep(0.1)
                yield Replica(process, port, health)
            finally:
                if process.returncode is None:
                    process.send_signal(signal.SIGTERM)
                with trio.fail_after(30):
                    await process.wait()


class FormReader(HTMLParser):
    """Every form of a page: its method, action, inputs (name -> value) and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"method": a.get("method", "get").lower(), "action": a.get("action", ""), "fields": {}, "buttons": {}}
            )
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1]["buttons"][a["name"]] = a.get("value", "")


def only_form(html: str) -> dict[str, Any]:
    reader = FormReader()
    reader.feed(html)
    assert len(reader.forms) == 1, reader.forms
    return reader.forms[0]


@dataclass
class Browser:
    """A person at a browser: signs in at the fake LabArchives as ``email``, approves or denies consent."""

    email: str
    password: str
    approve: bool = True
    cancel_at_labarchives: bool = False
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(follow_redirects=False, timeout=30))
    pages: list[httpx.Response] = field(default_factory=list)

    async def _go(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.request(method, url, **kwargs)
        self.pages.append(response)
        return response

    async def submit(
        self, page: httpx.Response, button: str, headers: dict[str, str] | None = None, **values: str
    ) -> httpx.Response:
        form = only_form(page.text)
        assert form["method"] == "post" and button in form["buttons"], form
        data = {**form["fields"], **values, button: form["buttons"][button]}
        return await self._go("POST", urljoin(str(page.url), form["action"]), data=data, headers=headers)

    async def authorize(self, url: str) -> httpx.Response:
        """Follow the flow from the authorization URL until a redirect leaves for the client's URI."""
        response = await self._go("GET", url)
        tried = False
        for _ in range(12):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(REDIRECT_URI.rsplit("/", 1)[0]):
                    return response
                response = await self._go("GET", location)
            elif response.status_code == 200 and "/auth/consent" in str(response.url):
                response = await self.submit(response, "approve" if self.approve else "deny")
            elif response.status_code == 200 and "api_user_login" in str(response.url) and not tried:
                tried = True
                if self.cancel_at_labarchives:
                    response = await self.submit(response, "cancel")
                else:
                    response = await self.submit(response, "signin", login=self.email, password=self.password)
            else:
                return response
        raise AssertionError("the sign-in flow did not end")

    async def code_for(self, url: str) -> AuthorizationCodeResult:
        response = await self.authorize(url)
        assert response.status_code in (302, 303), response.text
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert "code" in query, query
        return AuthorizationCodeResult(code=query["code"][0], state=query.get("state", [None])[0])


class MemoryStorage:
    """The SDK client's token storage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def oauth_provider(server_url: str, browser: Browser, storage: MemoryStorage | None = None) -> OAuthClientProvider:
    """The SDK's OAuth client: discovery, registration, PKCE; the browser step is ``browser``."""
    pending: list[str] = []

    async def redirect(url: str) -> None:
        pending.append(url)

    async def callback() -> AuthorizationCodeResult:
        return await browser.code_for(pending.pop())

    metadata = OAuthClientMetadata.model_validate(
        {
            "client_name": "labmcp e2e client",
            "redirect_uris": [REDIRECT_URI],
            "grant_types": ["authorization_code", "refresh_token"],
        }
    )
    return OAuthClientProvider(server_url, metadata, storage or MemoryStorage(), redirect, callback)


@asynccontextmanager
async def oauth_client(
    server_url: str, browser: Browser, storage: MemoryStorage | None = None, mode: str = "legacy"
) -> AsyncIterator[Client]:
    """An SDK ``Client`` over Streamable HTTP whose requests carry the user's OAuth token."""
    async with sdk_client(server_url, oauth_provider(server_url, browser, storage), mode) as client:
        yield client


@asynccontextmanager
async def sdk_client(server_url: str, auth: OAuthClientProvider, mode: str = "legacy") -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(auth=auth, timeout=60) as http,
        Client(streamable_http_client(server_url, http_client=http), mode=mode) as client,  # type: ignore[arg-type]
    ):
        yield client


def person(index: int) -> institution.Researcher:
    return institution.RESEARCHERS[index]


def browser_for(index: int) -> Browser:
    who = person(index)
    return Browser(who.email, who.password)
