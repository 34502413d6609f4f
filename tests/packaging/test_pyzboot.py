"""The pyz bootstrap without a built archive: target selection for every target, cache paths, extraction."""

from __future__ import annotations

import ast
import hashlib
import json
import zipfile
from pathlib import Path

import pytest

import build_zipapp
from labmcp import pyzboot
from labmcp.pyzboot import BootError, Build, Interpreter

GLIBC = "glibc 2.36"


def interp(
    sys_platform: str,
    machine: str,
    version: tuple[int, int] = (3, 12),
    build_platform: str = "",
    libc: str = "",
    implementation: str = "cpython",
    bits: int = 64,
) -> Interpreter:
    return Interpreter(implementation, version, sys_platform, machine, build_platform, libc, bits)


# Every target the build ships, with the values the real interpreters report there.
EVERY_TARGET = [
    (interp("linux", "x86_64", v, "linux-x86_64", GLIBC), f"cp3{v[1]}-manylinux_x86_64")
    for v in ((3, 11), (3, 12), (3, 13))
] + [
    case
    for v in ((3, 11), (3, 12), (3, 13))
    for case in (
        (interp("linux", "aarch64", v, "linux-aarch64", "glibc 2.17"), f"cp3{v[1]}-manylinux_aarch64"),
        (interp("darwin", "arm64", v, "macosx-11.0-arm64"), f"cp3{v[1]}-macosx_arm64"),
        (interp("darwin", "x86_64", v, "macosx-10.9-x86_64"), f"cp3{v[1]}-macosx_x86_64"),
        (interp("win32", "AMD64", v, "win-amd64"), f"cp3{v[1]}-win_amd64"),
    )
]


@pytest.mark.parametrize(("interpreter", "expected"), EVERY_TARGET, ids=[t for _, t in EVERY_TARGET])
def test_every_shipped_target_is_selected_from_what_its_interpreter_reports(
    interpreter: Interpreter, expected: str
) -> None:
    assert pyzboot.select_target(interpreter, [t for _, t in EVERY_TARGET]) == expected


def test_windows_uses_the_interpreter_build_not_the_cpu() -> None:
    """An x64 Python on Windows-on-ARM reports machine ARM64 but is an amd64 build."""
    assert pyzboot.target_of(interp("win32", "ARM64", build_platform="win-amd64")) == "cp312-win_amd64"


@pytest.mark.parametrize(
    ("interpreter", "message"),
    [
        (interp("linux", "x86_64", (3, 10), libc=GLIBC), "needs CPython 3.11 or newer; this is CPython 3.10"),
        (interp("linux", "x86_64", libc=GLIBC, implementation="pypy"), "needs CPython 3.11 or newer; this is pypy"),
        (interp("linux", "x86_64", libc=GLIBC, bits=32), "needs a 64-bit Python"),
        (interp("linux", "x86_64", libc=""), "glibc-based Linux (musl/Alpine is not supported)"),
        (interp("linux", "x86_64", libc="glibc 2.12"), "needs glibc 2.17 or newer; this is glibc 2.12"),
        (interp("win32", "ARM64", build_platform="win-arm64"), "64-bit x86 Python on Windows; this is win-arm64"),
    ],
)
def test_unsupported_interpreters_get_a_reason(interpreter: Interpreter, message: str) -> None:
    with pytest.raises(BootError, match=message.replace("(", r"\(").replace(")", r"\)")):
        pyzboot.target_of(interpreter)


def test_a_target_missing_from_the_archive_names_what_it_carries() -> None:
    with pytest.raises(BootError) as caught:
        pyzboot.select_target(interp("freebsd14", "amd64"), ["cp312-manylinux_x86_64", "cp312-win_amd64"])
    assert "cp312-freebsd14_x86_64" in str(caught.value)
    assert "cp312-manylinux_x86_64, cp312-win_amd64" in str(caught.value)


@pytest.mark.parametrize(
    ("sys_platform", "environ", "expected"),
    [
        ("linux", {"LABMCP_CACHE_DIR": "/srv/cache"}, "/srv/cache"),
        ("linux", {}, "/home/u/.cache/labmcp"),
        ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/labmcp"),
        ("darwin", {}, "/home/u/Library/Caches/labmcp"),
        ("win32", {"LOCALAPPDATA": "/local"}, "/local/labmcp/Cache"),
        ("win32", {}, "/home/u/AppData/Local/labmcp/Cache"),
    ],
)
def test_cache_root_follows_the_override_then_the_os_convention(
    sys_platform: str, environ: dict[str, str], expected: str
) -> None:
    assert pyzboot.cache_root(environ, sys_platform, Path("/home/u")) == Path(expected)


def _archive(path: Path, files: dict[str, bytes], corrupt: str | None = None) -> tuple[zipfile.ZipFile, Build]:
    """A minimal archive in the build's layout: o/<sha256> objects and one manifest."""
    manifest = [[name, hashlib.sha256(data).hexdigest()] for name, data in sorted(files.items())]
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("m/cp312-test.json", json.dumps(manifest))
        for name, data in files.items():
            zf.writestr(f"o/{hashlib.sha256(data).hexdigest()}", b"tampered" if name == corrupt else data)
    return zipfile.ZipFile(path), Build("ab" * 32, "pkg:main", ("cp312-test",))


def test_extraction_publishes_a_complete_compiled_tree(tmp_path: Path) -> None:
    archive, build = _archive(tmp_path / "a.zip", {"pkg/__init__.py": b"X = 1\n", "pkg/data.txt": b"hello"})
    dest = pyzboot.ensure_extracted(archive, build, "cp312-test", tmp_path / "cache")
    assert dest == tmp_path / "cache" / ("ab" * 8) / "cp312-test"
    assert (dest / "pkg" / "data.txt").read_bytes() == b"hello"
    assert list((dest / "pkg" / "__pycache__").glob("__init__.*.pyc"))
    assert (dest / pyzboot.COMPLETE).is_file()
    assert [p.name for p in dest.parent.iterdir()] == ["cp312-test"], "no temp dir is left behind"


def test_a_file_failing_its_hash_aborts_without_publishing(tmp_path: Path) -> None:
    archive, build = _archive(tmp_path / "a.zip", {"pkg/__init__.py": b"X = 1\n"}, corrupt="pkg/__init__.py")
    with pytest.raises(BootError, match="fails its sha256"):
        pyzboot.ensure_extracted(archive, build, "cp312-test", tmp_path / "cache")
    assert list((tmp_path / "cache" / ("ab" * 8)).iterdir()) == []


def test_paths_escaping_the_tree_are_refused(tmp_path: Path) -> None:
    archive, build = _archive(tmp_path / "a.zip", {"../evil.py": b"boom"})
    with pytest.raises(BootError, match="unsafe path"):
        pyzboot.ensure_extracted(archive, build, "cp312-test", tmp_path / "cache")
    assert not (tmp_path / "cache" / "evil.py").exists()


def test_a_complete_cache_is_used_without_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, build = _archive(tmp_path / "a.zip", {"pkg/__init__.py": b"X = 1\n"})
    dest = pyzboot.ensure_extracted(archive, build, "cp312-test", tmp_path / "cache")

    def no_writes(*args: object, **kwargs: object) -> str:
        raise AssertionError("a populated cache must not be written to")

    monkeypatch.setattr(pyzboot.tempfile, "mkdtemp", no_writes)
    assert pyzboot.ensure_extracted(archive, build, "cp312-test", tmp_path / "cache") == dest


def test_losing_the_publish_race_keeps_the_winners_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process published between our check and our rename: ours is discarded, theirs used."""
    archive, build = _archive(tmp_path / "a.zip", {"pkg/__init__.py": b"X = 1\n"})
    winner = tmp_path / "cache" / ("ab" * 8) / "cp312-test"
    real_rename = Path.rename

    def rename_after_winner(self: Path, target: Path) -> Path:
        winner.mkdir(parents=True)
        (winner / "theirs").write_text("x")
        (winner / pyzboot.COMPLETE).write_text("done")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename_after_winner)
    assert pyzboot.ensure_extracted(archive, build, "cp312-test", tmp_path / "cache") == winner
    assert sorted(p.name for p in winner.parent.iterdir()) == ["cp312-test"]
    assert (winner / "theirs").exists()


def test_the_archive_entry_stub_parses_with_the_oldest_grammar_the_stdlib_checks() -> None:
    """``__main__.py`` must reach its version check on any old Python: no f-strings, annotations or
    __future__ imports (ast's feature_version goes back to 3.4; the stub keeps to 2.6+ syntax)."""
    tree = ast.parse(build_zipapp.BOOT_STUB.decode(), feature_version=(3, 4))
    assert not any(isinstance(node, (ast.JoinedStr, ast.AnnAssign)) for node in ast.walk(tree))
    assert not any(isinstance(node, ast.ImportFrom) and node.module == "__future__" for node in ast.walk(tree))
