"""Stateless OAuth mode behind a real round-robin proxy: nginx (Debian's package) in front of several
server processes that share only the token key file and one fake LabArchives.

One researcher signs in through the proxy (registration, consent, LabArchives' login and the token
exchange land on whichever replica nginx picks) and then works; a second does too. nginx names the
replica of every answer (``X-Upstream``), so the test sees the requests alternate; the fake's request
log shows the pacing the replicas kept together.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx2
import pytest
import trio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from labmcp.fake import FakeLabArchives
from tests.auth.support import browser_for, free_port, oauth_env, oauth_provider, person, replica, write_keys
from tests.e2e.helpers import structured

pytestmark = pytest.mark.slow

REPLICAS = 3
INTERVAL = 0.2
"""The akid's interval in this test (seconds); each replica paces at INTERVAL x REPLICAS."""

NGINX_CONF = """
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream labmcp {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://labmcp;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_buffering off;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        message = "nginx not found (apt-get install nginx)"
        if os.environ.get("LABMCP_REQUIRE_TOOLS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return found


@asynccontextmanager
async def nginx(port: int, upstreams: list[int], workdir: Path) -> AsyncIterator[None]:
    workdir.mkdir()
    servers = "\n".join(f"        server 127.0.0.1:{p};" for p in upstreams)
    conf = workdir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=workdir, servers=servers, port=port))
    args = [nginx_binary(), "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "error.log")]
    async with trio.open_nursery() as nursery:
        process: trio.Process = await nursery.start(
            lambda task_status=trio.TASK_STATUS_IGNORED: trio.run_process(
                args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, task_status=task_status
            )
        )
        with trio.fail_after(30):
            while True:
                assert process.returncode is None, (workdir / "error.log").read_text()
                try:
                    await (await trio.open_tcp_stream("127.0.0.1", port)).aclose()
                    break
                except OSError:
                    await trio.sleep(0.05)
        try:
            yield
        finally:
            process.terminate()
            with trio.fail_after(20):
                await process.wait()


async def work_as(index: int, url: str, served_by: list[str]) -> None:
    """Sign in through the proxy and read every page of every notebook, twice."""

    async def note(response: httpx2.Response) -> None:
        # The one request without a token is the discovery 401; every signed request must succeed.
        if response.url.path == "/mcp" and "authorization" in response.request.headers:
            assert response.status_code < 400, response.status_code
            served_by.append(response.headers.get("x-upstream", "?"))

    auth = oauth_provider(url + "/mcp", browser_for(index))
    async with (
        httpx2.AsyncClient(auth=auth, timeout=120, event_hooks={"response": [note]}) as http,
        Client(streamable_http_client(url + "/mcp", http_client=http), mode="legacy") as client,  # type: ignore[arg-type]
    ):
        for _ in range(2):
            notebooks = structured(await client.call_tool("list_notebooks", {}))["notebooks"]
            assert sorted(nb["name"] for nb in notebooks) == sorted(person(index).notebooks)
            for nb in notebooks:
                items = structured(await client.call_tool("browse_notebook", {"notebook_id": nb["id"], "depth": 5}))
                for page in (i for i in items["items"] if i["kind"] == "page"):
                    read = structured(
                        await client.call_tool("read_page", {"notebook_id": nb["id"], "page_id": page["id"]})
                    )
                    assert person(index).marker in read["content"]


async def test_replicas_behind_round_robin_nginx_serve_one_client_alternately_and_keep_the_pace(
    institution_fake: FakeLabArchives, tmp_path: Path
) -> None:
    proxy_port = free_port()
    url = f"http://127.0.0.1:{proxy_port}"
    keys = write_keys(tmp_path / "keys", "k2", "k1")
    env = oauth_env(
        institution_fake,
        keys,
        url,
        LABMCP_STATELESS="true",
        LABMCP_REPLICAS=str(REPLICAS),
        LABARCHIVES_REQUEST_INTERVAL=str(INTERVAL),
    )
    ports = [free_port() for _ in range(REPLICAS)]
    served_by: list[str] = []
    with trio.fail_after(300):
        async with AsyncExitStack() as stack:
            for port in ports:
                await stack.enter_async_context(replica(env, port, tmp_path / f"replica-{port}.log"))
            await stack.enter_async_context(nginx(proxy_port, ports, tmp_path / "nginx"))
            await work_as(0, url, served_by)
            await work_as(1, url, served_by)
    # Round robin over stateless replicas: every replica served, one client's requests spread evenly.
    counts = Counter(served_by)
    assert set(counts) == {f"127.0.0.1:{p}" for p in ports}, counts
    assert min(counts.values()) >= len(served_by) // (2 * REPLICAS), counts
    switches = sum(1 for a, b in itertools.pairwise(served_by) if a != b)
    assert switches >= len(served_by) // 2, served_by
    # Pacing: each replica leaves INTERVAL x REPLICAS between its calls, so any REPLICAS + 1 consecutive
    # calls in the fake's log (two of them from one replica) span at least that: the akid's average
    # interval holds across the replicas. (Single gaps may be shorter: the replicas do not coordinate.)
    calls = sorted(r.monotonic for r in institution_fake.log if r.api_class)
    assert len(calls) >= 3 * (REPLICAS + 1), len(calls)
    window = INTERVAL * REPLICAS
    spans = [calls[i + REPLICAS] - calls[i] for i in range(len(calls) - REPLICAS)]
    assert min(spans) >= window * 0.99, (min(spans), window)
    assert (calls[-1] - calls[0]) / (len(calls) - 1) >= INTERVAL * 0.99
