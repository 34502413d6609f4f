"""Bootstrap of labmcp.pyz (its ``__main__``): pick this interpreter's target, extract it once, run labmcp.

Native extensions cannot be imported from a zip, so each target's tree (dependencies and labmcp) is
extracted into a cache keyed by build id and target, hash-checked, byte-compiled and published with one
atomic rename. Stdlib only; kept to syntax that old Python 3 parses, so an unsupported interpreter gets
a one-line explanation instead of a traceback (hence NamedTuple, not slotted dataclasses).
"""

from __future__ import annotations

import compileall
import hashlib
import importlib
import json
import os
import platform
import py_compile
import shutil
import site
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

MINIMUM = (3, 11)
COMPLETE = ".labmcp-complete"
GLIBC_FLOOR = (2, 17)  # the manylinux2014 wheels the build installs
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}


class BootError(Exception):
    """A problem the user can act on; printed as one line, never as a traceback."""


class Interpreter(NamedTuple):
    """What decides the target: implementation, version and the platform this interpreter was built for."""

    implementation: str
    version: tuple[int, int]
    sys_platform: str
    machine: str
    build_platform: str
    libc: str
    pointer_bits: int

    def describe(self) -> str:
        name = "CPython" if self.implementation == "cpython" else self.implementation
        return f"{name} {self.version[0]}.{self.version[1]} on {self.sys_platform} {self.machine}"


class Build(NamedTuple):
    """BUILD.json of the archive: its id, entry point and the targets it carries."""

    build_id: str
    entry: str
    targets: tuple[str, ...]


def current_interpreter() -> Interpreter:
    """Describe the running interpreter; the only function here that asks the platform."""
    libc = ""
    if sys.platform.startswith("linux"):
        try:
            libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError, AttributeError):
            libc = ""
    return Interpreter(
        implementation=sys.implementation.name,
        version=(sys.version_info[0], sys.version_info[1]),
        sys_platform=sys.platform,
        machine=platform.machine(),
        build_platform=sysconfig.get_platform(),
        libc=libc,
        pointer_bits=64 if sys.maxsize > 2**32 else 32,
    )


def _glibc(libc: str) -> tuple[int, int] | None:
    name, _, version = libc.partition(" ")
    parts = version.split(".")
    if name != "glibc" or len(parts) < 2 or not all(p.isascii() and p.isdigit() for p in parts[:2]):
        return None
    return int(parts[0]), int(parts[1])


def target_of(interp: Interpreter) -> str:
    """The target name (e.g. ``cp312-manylinux_x86_64``) for an interpreter, or BootError saying why none fits."""
    if interp.implementation != "cpython":
        raise BootError(f"labmcp.pyz needs CPython {MINIMUM[0]}.{MINIMUM[1]} or newer; this is {interp.describe()}")
    if interp.version < MINIMUM:
        raise BootError(f"labmcp.pyz needs CPython {MINIMUM[0]}.{MINIMUM[1]} or newer; this is {interp.describe()}")
    tag = f"cp{interp.version[0]}{interp.version[1]}"
    if interp.pointer_bits != 64:
        raise BootError(f"labmcp.pyz needs a 64-bit Python; this is a 32-bit {interp.describe()}")
    if interp.sys_platform == "win32":
        # sysconfig names the interpreter's own build: an x64 Python on Windows-on-ARM says win-amd64.
        if interp.build_platform != "win-amd64":
            raise BootError(f"labmcp.pyz supports 64-bit x86 Python on Windows; this is {interp.build_platform}")
        return f"{tag}-win_amd64"
    machine = _MACHINES.get(interp.machine.lower(), interp.machine.lower())
    if interp.sys_platform == "darwin":
        return f"{tag}-macosx_{'arm64' if machine == 'aarch64' else machine}"
    if interp.sys_platform.startswith("linux"):
        glibc = _glibc(interp.libc)
        if glibc is None:
            raise BootError("labmcp.pyz needs a glibc-based Linux (musl/Alpine is not supported)")
        if glibc < GLIBC_FLOOR:
            raise BootError(f"labmcp.pyz needs glibc {GLIBC_FLOOR[0]}.{GLIBC_FLOOR[1]} or newer; this is {interp.libc}")
        return f"{tag}-manylinux_{machine}"
    return f"{tag}-{interp.sys_platform}_{machine}"


def select_target(interp: Interpreter, available: Sequence[str]) -> str:
    """Pick the archive's target for this interpreter, or explain which interpreters it does support."""
    target = target_of(interp)
    if target not in available:
        raise BootError(
            f"this labmcp.pyz has no build for {interp.describe()} (wanted {target}); "
            f"it carries: {', '.join(sorted(available))}"
        )
    return target


def cache_root(environ: Mapping[str, str], sys_platform: str, home: Path) -> Path:
    """``LABMCP_CACHE_DIR``, else the user's OS cache directory plus ``labmcp``."""
    explicit = environ.get("LABMCP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    if sys_platform == "win32":
        local = environ.get("LOCALAPPDATA")
        return (Path(local) if local else home / "AppData" / "Local") / "labmcp" / "Cache"
    if sys_platform == "darwin":
        return home / "Library" / "Caches" / "labmcp"
    xdg = environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else home / ".cache") / "labmcp"


def read_build(archive: zipfile.ZipFile) -> Build:
    """Parse BUILD.json; a missing or malformed one means a damaged file."""
    try:
        data = json.loads(archive.read("BUILD.json"))
        return Build(str(data["build_id"]), str(data["entry"]), tuple(str(t) for t in data["targets"]))
    except (KeyError, ValueError, TypeError) as exc:
        raise BootError(f"this labmcp.pyz is damaged (BUILD.json: {exc}); download it again") from None


def _safe_path(relpath: str) -> tuple[str, ...]:
    parts = tuple(relpath.split("/"))
    if any(part in ("", ".", "..") or ":" in part or "\\" in part for part in parts):
        raise BootError(f"this labmcp.pyz is damaged (unsafe path {relpath!r}); download it again")
    return parts


def _extract_into(archive: zipfile.ZipFile, target: str, tmp: Path) -> None:
    try:
        manifest = json.loads(archive.read(f"m/{target}.json"))
    except (KeyError, ValueError) as exc:
        raise BootError(f"this labmcp.pyz is damaged (manifest of {target}: {exc}); download it again") from None
    for relpath, digest in manifest:
        path = tmp.joinpath(*_safe_path(relpath))
        data = archive.read(f"o/{digest}")
        if hashlib.sha256(data).hexdigest() != digest:
            raise BootError(f"this labmcp.pyz is damaged ({relpath} fails its sha256); download it again")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _is_complete(dest: Path) -> bool:
    return (dest / COMPLETE).is_file()


def ensure_extracted(archive: zipfile.ZipFile, build: Build, target: str, root: Path) -> Path:
    """Return ``root/<build id>/<target>``, extracting it first unless a complete copy is already there.

    Work happens in a private temp dir beside the destination; one rename publishes it, so concurrent
    first starts race harmlessly (the losers delete their copy) and readers never see half a tree.
    """
    dest = root / build.build_id[:16] / target
    if _is_complete(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target}-", dir=dest.parent))
    try:
        _extract_into(archive, target, tmp)
        # Unchecked-hash pycs stay valid whatever mtimes extraction gave the sources; ddir makes
        # tracebacks name the published path rather than the temp dir.
        compileall.compile_dir(
            tmp, quiet=2, ddir=dest, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH, workers=1
        )
        (tmp / COMPLETE).write_text(f"{build.build_id} {target}\n", encoding="utf-8")
        tmp.chmod(0o755)  # mkdtemp made it 0700: a cache baked by root must serve other users
        try:
            tmp.rename(dest)
        except OSError:
            if not _is_complete(dest):
                raise
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _extract_somewhere(archive: zipfile.ZipFile, build: Build, target: str, environ: Mapping[str, str]) -> Path:
    root = cache_root(environ, sys.platform, Path.home())
    try:
        return ensure_extracted(archive, build, target, root)
    except OSError as exc:
        if environ.get("LABMCP_CACHE_DIR"):
            raise BootError(f"cannot use LABMCP_CACHE_DIR={root}: {exc.strerror or exc}") from None
    # The default cache is not writable (read-only home, service account): a per-user temp dir will do.
    fallback = Path(tempfile.gettempdir()) / f"labmcp-{getattr(os, 'getuid', lambda: 0)()}"
    try:
        return ensure_extracted(archive, build, target, fallback)
    except OSError as exc:
        raise BootError(
            f"cannot extract labmcp: {root} and {fallback} are not writable ({exc.strerror or exc}); "
            "set LABMCP_CACHE_DIR to a writable directory"
        ) from None


def activate(dest: Path, archive_path: Path) -> None:
    """Put the extracted tree first on sys.path (``.pth`` files included) and drop the archive and host site-packages.

    Leaving the host's site-packages out keeps the file hermetic: a package missing from the build fails
    here too, instead of being masked by whatever the machine happens to have installed.
    """
    drop = {Path(p).absolute() for p in [*site.getsitepackages(), site.getusersitepackages(), str(archive_path)]}
    kept = [p for p in sys.path if Path(p).absolute() not in drop]
    sys.path[:] = kept
    site.addsitedir(str(dest))
    added = [p for p in sys.path if p not in kept]
    sys.path[:] = added + kept


def run(archive_path: Path, argv: Sequence[str], environ: Mapping[str, str]) -> int:
    """Select, extract, activate and call the entry point; BootError for anything the user must fix."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BootError(f"cannot open {archive_path}: {exc}") from None
    with archive:
        build = read_build(archive)
        target = select_target(current_interpreter(), build.targets)
        dest = _extract_somewhere(archive, build, target, environ)
    if environ.get("LABMCP_EXTRACT_ONLY", "").strip().lower() in ("1", "true", "yes", "on"):
        print(dest)
        return 0
    activate(dest, archive_path)
    module_name, _, function = build.entry.partition(":")
    entry = getattr(importlib.import_module(module_name), function)
    return int(entry(list(argv)))


def main() -> int:
    """Console entry of the archive: ``python labmcp.pyz [labmcp arguments]``."""
    archive_path = Path(__file__).absolute().parent
    try:
        return run(archive_path, sys.argv[1:], os.environ)
    except BootError as exc:
        print(f"labmcp: {exc}", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
