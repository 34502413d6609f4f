"""README is the user's manual: it must start with the two set-up commands and document every setting."""

from __future__ import annotations

from pathlib import Path

from labmcp.config import OPTIONS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_starts_with_the_demo_and_the_test_command() -> None:
    block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_every_setting_is_documented_with_its_flag_and_env_var() -> None:
    missing = [o.flag for o in OPTIONS if f"`{o.flag}`" not in README]
    missing += [o.env for o in OPTIONS if o.env and f"`{o.env}`" not in README]
    assert not missing, f"README lacks: {missing}"
