"""Run the built pyz the way users do: `python -I labmcp.pyz` in a bare environment, every local CPython."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
import trio

from labmcp import __version__
from tests.packaging.helpers import bare_env, interpreters

pytestmark = pytest.mark.slow

PYTHONS = interpreters()
VERSIONS = pytest.mark.parametrize("version", sorted(PYTHONS) or [pytest.param("none", marks=pytest.mark.skip)])


def tag(version: str) -> str:
    """``3.12.1`` -> ``cp312``."""
    return "cp" + "".join(version.split(".")[:2])


def any_python() -> Path:
    if not PYTHONS:
        pytest.skip("no CPython 3.11-3.13 on this machine")
    return next(iter(PYTHONS.values()))


def run_pyz(
    python: Path, pyz: Path, *args: str, env: dict[str, str], stdin: bytes = b"", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-I", str(pyz), *args],
        input=stdin.decode(),
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class LineRPC:
    """Raw JSON-RPC over the server's stdin/stdout, one message per line (MCP stdio framing)."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin = process.stdin
        self.stdout = process.stdout
        self.buffer = b""
        self.next_id = 0

    async def send(self, method: str, params: dict[str, Any] | None = None, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        await self.stdin.send_all(json.dumps(message).encode() + b"\n")
        return self.next_id

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        wanted = await self.send(method, params)
        while True:
            while b"\n" not in self.buffer:
                chunk = await self.stdout.receive_some()
                assert chunk, f"server closed stdout before answering {method}"
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            message = json.loads(line)
            if message.get("id") == wanted:
                assert "error" not in message, message
                result: dict[str, Any] = message["result"]
                return result


async def stdio_exchange(command: list[str], env: dict[str, str], log: Path) -> list[str]:
    """initialize, tools/list, then a real read (list -> browse -> read_page) against the demo notebooks."""
    with log.open("wb") as stderr:
        process = await trio.lowlevel.open_process(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env
        )
    try:
        return await _session(LineRPC(process), process)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- server stderr ---\n{log.read_text(errors='replace')[-3000:]}") from None
    finally:
        process.kill()
        await process.wait()


async def _session(rpc: LineRPC, process: trio.Process) -> list[str]:
    """The exchange itself, over an already started server."""
    init = await rpc.request(
        "initialize",
        {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "pyz-test", "version": "1"}},
    )
    assert init["serverInfo"]["name"] == "labmcp"
    await rpc.send("notifications/initialized", notify=True)
    tools = [t["name"] for t in (await rpc.request("tools/list"))["tools"]]
    notebooks = (await rpc.request("tools/call", {"name": "list_notebooks", "arguments": {}}))["structuredContent"]
    nb = notebooks["notebooks"][0]["id"]
    browse = await rpc.request("tools/call", {"name": "browse_notebook", "arguments": {"notebook_id": nb}})
    page = next(i for i in browse["structuredContent"]["items"] if i["kind"] == "page")
    read = await rpc.request(
        "tools/call", {"name": "read_page", "arguments": {"notebook_id": nb, "page_id": page["id"]}}
    )
    assert not read.get("isError"), read
    assert read["structuredContent"]["page_id"] == page["id"]
    await rpc.stdin.aclose()
    assert await process.wait() == 0, "the server exits cleanly when stdin closes"
    return tools


@VERSIONS
def test_version_and_first_start_extract_into_a_fresh_cache(pyz: Path, version: str, tmp_path: Path) -> None:
    env = bare_env(tmp_path / "home", tmp_path / "cache")
    (tmp_path / "home").mkdir()
    done = run_pyz(PYTHONS[version], pyz, "--version", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"labmcp {__version__}"
    extracted = list((tmp_path / "cache").glob(f"*/{tag(version)}-manylinux_*"))
    assert len(extracted) == 1
    assert (extracted[0] / ".labmcp-complete").is_file()
    assert list(extracted[0].glob("pydantic_core/__pycache__/*.pyc")), "bytecode is compiled at extraction"
    assert not list((tmp_path / "home").iterdir()), "nothing written to HOME when LABMCP_CACHE_DIR is set"


def test_default_cache_is_the_users_cache_dir(pyz: Path, tmp_path: Path) -> None:
    python = any_python()
    env = bare_env(tmp_path, None)
    done = run_pyz(python, pyz, "--version", env=env)
    assert done.returncode == 0, done.stderr
    assert list((tmp_path / ".cache" / "labmcp").glob("*/cp3*"))


@VERSIONS
def test_extract_only_prints_the_tree_and_exits(pyz: Path, version: str, tmp_path: Path) -> None:
    env = bare_env(tmp_path, tmp_path / "cache", LABMCP_EXTRACT_ONLY="1")
    done = run_pyz(PYTHONS[version], pyz, env=env)
    assert done.returncode == 0, done.stderr
    tree = Path(done.stdout.strip())
    assert tree.parent.parent == tmp_path / "cache"
    assert (tree / "labmcp" / "cli.py").is_file()


@VERSIONS
async def test_stdio_mcp_exchange_with_the_demo_notebooks(pyz: Path, version: str, tmp_path: Path) -> None:
    env = bare_env(tmp_path, tmp_path / "cache")
    with trio.fail_after(120):
        tools = await stdio_exchange([str(PYTHONS[version]), "-I", str(pyz), "--demo"], env, tmp_path / "stderr")
    assert {"list_notebooks", "browse_notebook", "read_page", "search", "get_attachment"} <= set(tools)


def test_the_slim_file_serves_this_machine(dist: Path, tmp_path: Path) -> None:
    (slim,) = dist.glob("labmcp-cp3*.pyz")
    python = next((path for version, path in PYTHONS.items() if slim.name.startswith(f"labmcp-{tag(version)}-")), None)
    if python is None:
        pytest.skip(f"{slim.name} targets a Python that is not on this machine")
    done = run_pyz(python, slim, "--version", env=bare_env(tmp_path, tmp_path / "cache"))
    assert done.returncode == 0, done.stderr


def test_an_unsupported_python_gets_one_line_not_a_traceback(pyz: Path, tmp_path: Path) -> None:
    old = next(iter(interpreters(("3.10",)).values()), None)
    if old is None:
        pytest.skip("no python3.10 on this machine")
    done = subprocess.run(
        [str(old), "-I", str(pyz), "--version"], capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path
    )
    assert done.returncode == 3
    assert done.stderr.strip().startswith("labmcp: labmcp.pyz needs CPython 3.11 or newer; this is CPython 3.10")
    assert "Traceback" not in done.stderr


async def test_concurrent_first_starts_all_succeed_and_publish_one_tree(pyz: Path, tmp_path: Path) -> None:
    python = any_python()
    env = bare_env(tmp_path, tmp_path / "cache")
    results: list[subprocess.CompletedProcess[bytes]] = []

    async def start() -> None:
        command = [str(python), "-I", str(pyz), "--version"]
        results.append(await trio.run_process(command, env=env, capture_stdout=True, check=False))

    with trio.fail_after(180):
        async with trio.open_nursery() as nursery:
            for _ in range(4):
                nursery.start_soon(start)
    assert [r.returncode for r in results] == [0, 0, 0, 0]
    assert all(r.stdout.strip() == f"labmcp {__version__}".encode() for r in results)
    (build_dir,) = (tmp_path / "cache").iterdir()
    assert [p.name for p in build_dir.iterdir()] == [next(iter(build_dir.iterdir())).name], "no temp dirs left"


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_a_read_only_populated_cache_serves_another_user(pyz: Path, tmp_path: Path) -> None:
    """The container pattern: extract at image build time as root, run as nobody with nothing writable."""
    python = next((p for p in PYTHONS.values() if not str(p).startswith("/root/")), None)
    if python is None:
        pytest.skip("no CPython 3.11-3.13 that another user may run (all under /root)")
    with tempfile.TemporaryDirectory(prefix="labmcp-ro-") as shared:
        image = Path(shared)
        image.chmod(0o755)  # pytest's tmp_path is private to root; an image's /opt is not
        shutil.copy2(pyz, image / "labmcp.pyz")
        cache = image / "cache"
        baked = run_pyz(python, image / "labmcp.pyz", env=bare_env(image, cache, LABMCP_EXTRACT_ONLY="1"))
        assert baked.returncode == 0, baked.stderr
        subprocess.run(["chmod", "-R", "a-w", str(cache)], check=True)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run(
            [*nobody, str(python), "-I", str(image / "labmcp.pyz"), "--version"],
            env=bare_env(Path("/nonexistent"), cache),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        subprocess.run(["chmod", "-R", "u+w", str(cache)], check=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"labmcp {__version__}"


def _unshare_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False).returncode == 0


NO_NETWORK = pytest.mark.skipif(not _unshare_works(), reason="unshare -rn (user + network namespace) is not permitted")


@NO_NETWORK
def test_first_start_needs_no_network(pyz: Path, tmp_path: Path) -> None:
    """Extraction and start in a network namespace with no interface at all."""
    python = any_python()
    env = bare_env(tmp_path, tmp_path / "cache")
    done = subprocess.run(
        ["unshare", "-rn", str(python), "-I", str(pyz), "--version"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"labmcp {__version__}"
    assert list((tmp_path / "cache").glob("*/cp3*/.labmcp-complete"))


@NO_NETWORK
async def test_a_demo_session_needs_no_network(pyz: Path, tmp_path: Path) -> None:
    """Inside a network namespace with only loopback up (the demo's fake listens there), nothing else."""
    python = any_python()
    env = bare_env(tmp_path, tmp_path / "cache", PATH="/usr/sbin:/usr/bin:/sbin:/bin")
    script = f'ip link set lo up && exec "{python}" -I "{pyz}" --demo'
    with trio.fail_after(180):
        tools = await stdio_exchange(["unshare", "-rn", "sh", "-c", script], env, tmp_path / "stderr")
    assert "read_page" in tools


def test_demo_session_runs_entirely_from_the_pyz(pyz: Path, tmp_path: Path) -> None:
    """Client and server both from the file: the SDK client validates tool output with jsonschema, so it ships."""
    python = any_python()
    server = f"{python} -I {pyz}"
    done = run_pyz(python, pyz, "demo-session", "--server", server, env=bare_env(tmp_path, None), timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Demo finished" in done.stdout
