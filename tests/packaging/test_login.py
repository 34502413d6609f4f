"""``labmcp login`` against the fake LabArchives over real loopback HTTP, as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from labmcp import login
from labmcp.labarchives.models import User

Fake = dict[str, str]


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    """``labmcp fake-server --port 0``: its one JSON line carries the URL and the demo credentials."""
    process = subprocess.Popen(
        [sys.executable, "-m", "labmcp", "fake-server", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        process.terminate()
        process.wait(timeout=30)


def run_login(command: list[str], fake: Fake, home: Path, email: str, token: str) -> subprocess.CompletedProcess[str]:
    """A new session has no controlling terminal, so getpass reads the token from stdin like a pipe would give it."""
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "PATH": os.environ["PATH"], "LABARCHIVES_AKID": fake["akid"]}
    env["LABARCHIVES_SECRET"] = fake["password"]
    return subprocess.run(
        [*command, "login", "--api-base", fake["base_url"]],
        input=f"{email}\n{token}\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,
    )


def test_login_resolves_the_uid_and_stores_nothing(fake: Fake, tmp_path: Path) -> None:
    """§2.5 B [DOC]: email + app token redeemed once with user_access_info."""
    done = run_login([sys.executable, "-m", "labmcp"], fake, tmp_path / "home", fake["email"], fake["token"])
    assert done.returncode == 0, done.stderr
    assert_pasteable(done.stdout, fake["uid"])
    assert fake["token"] not in done.stdout + done.stderr
    assert fake["password"] not in done.stdout + done.stderr
    assert not list((tmp_path / "home").iterdir()), "nothing is written to HOME"


def assert_pasteable(stdout: str, uid: str) -> None:
    """A real shell (sh) and a real JSON parser read the printed lines back to the very uid."""
    export = next(line.strip() for line in stdout.splitlines() if line.strip().startswith("export LABARCHIVES_UID="))
    echoed = subprocess.run(
        ["sh", "-c", f'{export}\nprintf %s "$LABARCHIVES_UID"'], capture_output=True, text=True, check=True
    )
    assert echoed.stdout == uid
    pair = next(line.strip() for line in stdout.splitlines() if line.strip().startswith('"LABARCHIVES_UID":'))
    assert json.loads("{" + pair + "}") == {"LABARCHIVES_UID": uid}


@pytest.mark.parametrize("uid", ["285489257Ho's9^Lt4116011183268315271", 'a"b`c$HOME\\d e;f', "plain123"])
def test_the_printed_lines_survive_any_uid(uid: str) -> None:
    assert_pasteable(login.report(User(uid=uid, email="x@example.org", fullname="X", notebooks=())), uid)


def test_a_wrong_token_is_refused_with_exit_1(fake: Fake, tmp_path: Path) -> None:
    done = run_login([sys.executable, "-m", "labmcp"], fake, tmp_path / "home", fake["email"], "not-the-token")
    assert done.returncode == 1
    assert "LabArchives refused" in done.stderr
    assert "Traceback" not in done.stderr
    assert "not-the-token" not in done.stdout + done.stderr


def test_missing_api_key_is_a_configuration_error_before_any_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    def no_prompt(prompt: str) -> str:
        raise AssertionError("must not prompt without LABARCHIVES_AKID/SECRET")

    assert login.run([], {}, login.Prompts(ask=no_prompt, ask_secret=no_prompt)) == 2
    assert "LABARCHIVES_AKID and LABARCHIVES_SECRET" in capsys.readouterr().err


def test_an_unknown_region_is_a_configuration_error(capsys: pytest.CaptureFixture[str]) -> None:
    environ = {"LABARCHIVES_AKID": "a", "LABARCHIVES_SECRET": "s"}
    assert login.run(["--region", "mars"], environ, login.Prompts()) == 2
    assert "LABARCHIVES_REGION must be one of" in capsys.readouterr().err


@pytest.mark.slow
def test_login_works_from_the_built_pyz(fake: Fake, pyz: Path, tmp_path: Path) -> None:
    python = Path(sys.executable)
    done = run_login([str(python), "-I", str(pyz)], fake, tmp_path / "home", fake["email"], fake["token"])
    assert done.returncode == 0, done.stderr
    assert_pasteable(done.stdout, fake["uid"])
