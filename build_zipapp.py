"""Build dist/labmcp.pyz (every supported CPython x platform) and slim pyz files (this machine's, or
the targets of ``--slim``), reproducibly.

Each target's wheels come from the committed hash lock (requirements/pyz.lock) via ``uv pip install
--target --python-platform`` (uv evaluates markers for the target; pip would use the host's). Every
distinct file is stored once as ``o/<sha256>``; ``m/<target>.json`` lists a target's tree; the zip has
sorted entries, fixed permissions and timestamps from SOURCE_DATE_EPOCH (default: the commit's time).
Next to the pyz files: SHA256SUMS and one CycloneDX SBOM per pyz. ``--lock`` re-resolves the lock.
Needs ``uv`` (``pip install uv``); set ``UV_OFFLINE=1`` to build from the wheel cache only.
``--mcpb`` wraps an already built dist/labmcp.pyz into dist/labmcp.mcpb (validated and packed by the
official ``mcpb`` command line, then given fixed timestamps) and writes dist/server.json with its SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import uuid
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

from labmcp import __version__, bundle, pyzboot

ROOT = Path(__file__).resolve().parent
LOCK = ROOT / "requirements" / "pyz.lock"
CONSTRAINTS = ROOT / "requirements" / "pyz-constraints.txt"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyz"
ENTRY = "labmcp.cli:main"
PYTHONS = ("3.11", "3.12", "3.13")
# Our platform name -> uv's --python-platform. manylinux_2_17 keeps the glibc floor at 2.17 (RHEL 7+).
PLATFORMS = {
    "manylinux_x86_64": "x86_64-manylinux_2_17",
    "manylinux_aarch64": "aarch64-manylinux_2_17",
    "macosx_arm64": "aarch64-apple-darwin",
    "macosx_x86_64": "x86_64-apple-darwin",
    "win_amd64": "x86_64-pc-windows-msvc",
}
# Locked but left out of the pyz: the server never imports them (measured, see README "What's inside").
# jsonschema/referencing/rpds-py stay: the SDK client behind `labmcp demo-session` validates tool output.
EXCLUDED = {
    "pyjwt": "only the SDK's OAuth client-credentials extension imports jwt",
    "uvicorn": "the SDK imports it only inside MCPServer.run; our HTTP transport uses hypercorn",
    "click": "only uvicorn's and httpx's command lines use it",
}
# Installer bookkeeping that differs between runs or machines, and console scripts with host paths.
SKIP_FILES = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", ".lock"}
SHEBANG = b"#!/usr/bin/env python3\n"
BOOT_MODULE = "_labmcp_boot"
# The archive's __main__.py: Python 2.6+ syntax only (no f-strings, annotations or __future__ imports), so
# any old interpreter a user may have gets the documented one-line message instead of a SyntaxError
# traceback; on CPython 3.11+ it hands over to labmcp/pyzboot.py, stored beside it as _labmcp_boot.py.
BOOT_STUB = b"""import platform
import sys

if sys.version_info < (3, 11):
    sys.stderr.write(
        "labmcp: labmcp.pyz needs CPython 3.11 or newer; this is %s %d.%d (%s)\\n"
        % (platform.python_implementation(), sys.version_info[0], sys.version_info[1], sys.executable)
    )
    sys.exit(3)

from _labmcp_boot import main  # noqa: E402

sys.exit(main())
"""
ZIP_EPOCH_FLOOR = 315532800  # 1980-01-01, the earliest time a zip entry can hold


@dataclass(frozen=True, slots=True)
class Target:
    """One CPython version on one platform, e.g. ``cp312-macosx_arm64``."""

    python: str
    platform: str

    @property
    def name(self) -> str:
        return f"cp{self.python.replace('.', '')}-{self.platform}"


@dataclass(frozen=True, slots=True)
class Staged:
    """A target's installed tree: relative path -> sha256, plus the distributions it holds."""

    target: Target
    files: dict[str, str]
    dists: tuple[tuple[str, str, str], ...]  # (name, version, licence)


ALL_TARGETS = tuple(Target(py, plat) for py in PYTHONS for plat in PLATFORMS)


def normalise(name: str) -> str:
    """PEP 503 project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def source_date_epoch(environ: Mapping[str, str]) -> int:
    """SOURCE_DATE_EPOCH, else the HEAD commit's time, else 1980: the same commit always gives the same bytes."""
    if environ.get("SOURCE_DATE_EPOCH"):
        return max(int(environ["SOURCE_DATE_EPOCH"]), ZIP_EPOCH_FLOOR)
    try:
        git = ["git", "log", "-1", "--format=%ct"]
        out = subprocess.run(git, cwd=ROOT, capture_output=True, text=True, check=True).stdout  # noqa: S603
        return max(int(out.strip()), ZIP_EPOCH_FLOOR)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return ZIP_EPOCH_FLOOR


def uv_command() -> list[str]:
    """uv from this interpreter's environment, else from PATH."""
    probe = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True, check=False)
    if probe.returncode == 0:
        return [sys.executable, "-m", "uv"]
    found = shutil.which("uv")
    if found is None:
        sys.exit("build_zipapp.py needs uv: `python -m pip install uv`")
    return [found]


def requirement_name(requirement: str) -> str:
    return normalise(re.split(r"[=<>!~ ;\[]", requirement.strip(), maxsplit=1)[0])


def lock_requirements(text: str) -> dict[str, list[str]]:
    """Split a hash-locked requirements file into {normalised name: its entries (with hashes)}.

    A name has more than one entry where the lock forks by marker (cryptography per macOS arch).
    """
    entries: dict[str, list[str]] = {}
    block: list[str] = []
    for line in [*text.splitlines(), "end"]:
        if not line.strip() or line.strip().startswith("#"):
            continue
        if line[0].isspace():
            block.append(line)
            continue
        if block:
            entries.setdefault(requirement_name(block[0]), []).append("\n".join(block))
        block = [line]
    return entries


def lock_hashes(entries: Mapping[str, list[str]]) -> dict[tuple[str, str], list[str]]:
    """{(name, version): every allowed sha256} from the lock, for the SBOM."""
    result: dict[tuple[str, str], list[str]] = {}
    for name, blocks in entries.items():
        for block in blocks:
            version = re.search(r"==([^\s;\\]+)", block)
            if version:
                result[(name, version.group(1))] = sorted(re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return result


def check_lock_covers_pyproject(entries: Mapping[str, list[str]]) -> None:
    """Refuse a lock that predates a dependency added to pyproject.toml."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    missing = [d for d in declared if requirement_name(d) not in entries]
    if missing:
        sys.exit(f"requirements/pyz.lock lacks {', '.join(missing)}: run `python build_zipapp.py --lock`")


def refresh_lock(uv: list[str]) -> None:
    """Resolve pyproject's dependencies for every supported platform and Python, with hashes."""
    subprocess.run(  # noqa: S603  # our own argument list, no shell
        [
            *uv,
            "pip",
            "compile",
            "pyproject.toml",
            "--constraints",
            str(CONSTRAINTS.relative_to(ROOT)),
            "--universal",
            "--python-version",
            PYTHONS[0],
            "--only-binary",
            ":all:",
            "--generate-hashes",
            "--no-config",
            "--custom-compile-command",
            "python build_zipapp.py --lock",
            "--quiet",
            "--output-file",
            str(LOCK.relative_to(ROOT)),
        ],
        cwd=ROOT,
        check=True,
    )


def stage_target(uv: list[str], target: Target, requirements: Path, env: Mapping[str, str]) -> Path:
    """Install the locked wheels for one target into a fresh directory (no deps resolution: the lock is it)."""
    dest = WORK / "stage" / target.name
    shutil.rmtree(dest, ignore_errors=True)
    subprocess.run(  # noqa: S603  # our own argument list, no shell
        [
            *uv,
            "pip",
            "install",
            "--quiet",
            "--no-config",
            "--target",
            str(dest),
            "--python-platform",
            PLATFORMS[target.platform],
            "--python-version",
            target.python,
            "--only-binary",
            ":all:",
            "--no-deps",
            "--require-hashes",
            "--link-mode",
            "copy",
            "--requirement",
            str(requirements),
        ],
        check=True,
        env=dict(env),
    )
    return dest


def tree_files(base: Path, prefix: str = "") -> Iterable[tuple[str, Path]]:
    """Files under ``base`` as (zip-style relative path, path), without bytecode and installer bookkeeping."""
    for dirpath, dirnames, filenames in os.walk(base):
        top = Path(dirpath) == base
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not (top and d == "bin"))
        for filename in sorted(filenames):
            if filename in SKIP_FILES or filename.endswith((".pyc", ".pyo")):
                continue
            path = Path(dirpath) / filename
            yield prefix + path.relative_to(base).as_posix(), path


def dists_of(tree: Path) -> tuple[tuple[str, str, str], ...]:
    """(name, version, licence) of every distribution in an installed tree, from its METADATA."""
    found = []
    for metadata in sorted(tree.glob("*.dist-info/METADATA")):
        headers = HeaderParser().parsestr(metadata.read_text(encoding="utf-8", errors="replace"))
        licence = headers.get("License-Expression") or ""
        if not licence:
            classifiers = [c.split("::")[-1].strip() for c in headers.get_all("Classifier", []) if "License ::" in c]
            licence = classifiers[0] if classifiers else (headers.get("License") or "").split("\n")[0][:80]
        found.append((normalise(headers["Name"]), headers["Version"], licence.strip()))
    return tuple(found)


def collect(target: Target, tree: Path, objects: dict[str, bytes], app: Mapping[str, bytes]) -> Staged:
    """Hash a staged tree plus labmcp's own files into a manifest, adding each new file to ``objects``."""
    files: dict[str, str] = {}
    contents = [*((relpath, path.read_bytes()) for relpath, path in tree_files(tree)), *app.items()]
    for relpath, data in contents:
        digest = hashlib.sha256(data).hexdigest()
        objects.setdefault(digest, data)
        files[relpath] = digest
    return Staged(target, files, dists_of(tree))


def app_snapshot() -> dict[str, bytes]:
    """labmcp's package files (the set its wheel ships), read once so every target gets the same bytes."""
    return {rel: path.read_bytes() for rel, path in tree_files(ROOT / "labmcp", "labmcp/")}


def manifest_bytes(staged: Staged) -> bytes:
    return json.dumps(sorted(staged.files.items()), separators=(",", ":")).encode()


def build_record(staged: list[Staged], epoch: int) -> dict[str, object]:
    """BUILD.json: the id hashes every manifest and the entry point, so any change in content changes it."""
    digest = hashlib.sha256(ENTRY.encode())
    for item in staged:
        digest.update(item.target.name.encode() + b"\0" + manifest_bytes(item))
    return {
        "build_id": digest.hexdigest(),
        "entry": ENTRY,
        "excluded": sorted(EXCLUDED),
        "format": 1,
        "source_date_epoch": epoch,
        "targets": [item.target.name for item in staged],
        "version": __version__,
    }


def write_pyz(path: Path, staged: list[Staged], objects: Mapping[str, bytes], epoch: int) -> dict[str, object]:
    """Write one deterministic pyz holding ``staged`` targets; returns its BUILD record."""
    record = build_record(staged, epoch)
    entries: dict[str, bytes] = {
        "BUILD.json": json.dumps(record, indent=1, sort_keys=True).encode() + b"\n",
        "__main__.py": BOOT_STUB,
        f"{BOOT_MODULE}.py": objects[staged[0].files["labmcp/pyzboot.py"]],
    }
    for item in staged:
        entries[f"m/{item.target.name}.json"] = manifest_bytes(item)
        for digest in item.files.values():
            entries[f"o/{digest}"] = objects[digest]
    stamp = time.gmtime(epoch)[:6]
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as out:
        out.write(SHEBANG)
        with zipfile.ZipFile(out, "w") as archive:
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.create_system = 3
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, entries[name], compresslevel=6)  # 9 is 2.7x slower for 0.6% less
    tmp.chmod(0o755)
    tmp.replace(path)
    return record


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_sbom(
    pyz: Path, record: Mapping[str, object], staged: list[Staged], hashes: Mapping[tuple[str, str], list[str]]
) -> Path:
    """A CycloneDX 1.6 SBOM of one pyz: labmcp itself plus every distribution inside, with the lock's hashes."""
    targets_of: dict[tuple[str, str, str], list[str]] = {}
    for item in staged:
        for dist in item.dists:
            targets_of.setdefault(dist, []).append(item.target.name)
    components = []
    for (name, version, licence), targets in sorted(targets_of.items()):
        purl = f"pkg:pypi/{name}@{version}"
        component: dict[str, object] = {
            "type": "library",
            "bom-ref": purl,
            "name": name,
            "version": version,
            "purl": purl,
            "hashes": [{"alg": "SHA-256", "content": h} for h in hashes.get((name, version), [])],
            "properties": [{"name": "labmcp:targets", "value": " ".join(sorted(targets))}],
        }
        if licence:
            key = "expression" if " " not in licence or any(op in licence for op in (" OR ", " AND ")) else "license"
            component["licenses"] = (
                [{"expression": licence}] if key == "expression" else [{"license": {"name": licence}}]
            )
        components.append(component)
    epoch = int(str(record["source_date_epoch"]))
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'labmcp:' + str(record['build_id']))}",
        "version": 1,
        "metadata": {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch)),
            "tools": {"components": [{"type": "application", "name": "build_zipapp.py", "version": __version__}]},
            "component": {
                "type": "application",
                "bom-ref": "labmcp",
                "name": "labmcp",
                "version": __version__,
                "purl": f"pkg:pypi/labmcp@{__version__}",
                "hashes": [{"alg": "SHA-256", "content": sha256_file(pyz)}],
                "properties": [
                    {"name": "labmcp:file", "value": pyz.name},
                    {"name": "labmcp:build_id", "value": str(record["build_id"])},
                    {"name": "labmcp:excluded", "value": " ".join(sorted(EXCLUDED))},
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": "labmcp", "dependsOn": [c["bom-ref"] for c in components]}],
    }
    path = pyz.with_name(pyz.name + ".cdx.json")
    path.write_text(json.dumps(bom, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return path


def host_target() -> Target:
    """The build interpreter's own target, for the slim file."""
    try:
        name = pyzboot.target_of(pyzboot.current_interpreter())
    except pyzboot.BootError as exc:
        sys.exit(f"build_zipapp.py: {exc}")
    for target in ALL_TARGETS:
        if target.name == name:
            return target
    sys.exit(f"build_zipapp.py: this machine's target {name} is not one the pyz supports")


def slim_targets(names: Sequence[str]) -> list[Target]:
    """The targets of ``--slim`` (``all``: every one); none named: this machine's own."""
    if not names:
        return [host_target()]
    if "all" in names:
        return list(ALL_TARGETS)
    known = {target.name: target for target in ALL_TARGETS}
    unknown = sorted(set(names) - set(known))
    if unknown:
        sys.exit(f"build_zipapp.py: unknown --slim target(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return [known[name] for name in dict.fromkeys(names)]


def build(dist: Path, slim: Sequence[Target] = ()) -> list[Path]:
    """Stage every target, write the universal pyz and one slim pyz per ``slim`` target (default: this
    machine's), their SBOMs and SHA256SUMS into ``dist``; returns them."""
    started = time.monotonic()
    uv = uv_command()
    entries = lock_requirements(LOCK.read_text(encoding="utf-8"))
    check_lock_covers_pyproject(entries)
    epoch = source_date_epoch(os.environ)
    WORK.mkdir(parents=True, exist_ok=True)
    requirements = WORK / "requirements.txt"
    kept = [block for name, blocks in sorted(entries.items()) if name not in EXCLUDED for block in blocks]
    requirements.write_text("\n".join(kept) + "\n", encoding="utf-8")
    env = {**os.environ, "UV_CACHE_DIR": os.environ.get("UV_CACHE_DIR", str(WORK / "uv-cache"))}
    objects: dict[str, bytes] = {}
    app = app_snapshot()
    staged = []
    for target in ALL_TARGETS:
        staged.append(collect(target, stage_target(uv, target, requirements, env), objects, app))
    print(f"staged {len(staged)} targets, {len(objects)} distinct files in {time.monotonic() - started:.1f}s")
    dist.mkdir(parents=True, exist_ok=True)
    hashes = lock_hashes(entries)
    files = [("labmcp.pyz", staged)]
    for target in slim or [host_target()]:
        files.append((f"labmcp-{target.name}.pyz", [s for s in staged if s.target == target]))
    outputs = []
    for name, chosen in files:
        pyz = dist / name
        record = write_pyz(pyz, chosen, objects, epoch)
        outputs += [pyz, write_sbom(pyz, record, chosen, hashes)]
        size, build_id = pyz.stat().st_size / 1e6, str(record["build_id"])[:16]
        print(f"{pyz}: {size:.1f} MB, {len(chosen)} target(s), build {build_id}")
    sums = dist / "SHA256SUMS"
    sums.write_text("".join(f"{sha256_file(p)}  {p.name}\n" for p in outputs), encoding="utf-8")
    print(f"{sums} written; total {time.monotonic() - started:.1f}s")
    return [*outputs, sums]


def normalise_zip(source: Path, dest: Path, epoch: int) -> None:
    """Rewrite a zip with sorted entries, one timestamp and fixed permissions (``mcpb pack`` stamps the clock)."""
    stamp = time.gmtime(max(epoch, ZIP_EPOCH_FLOOR))[:6]
    with zipfile.ZipFile(source) as packed, zipfile.ZipFile(dest, "w") as out:
        for name in sorted(packed.namelist()):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            with packed.open(name) as member, out.open(info, "w") as target:
                shutil.copyfileobj(member, target, 1 << 20)


def build_mcpb(dist: Path, mcpb: list[str]) -> Path:
    """Stage manifest, icon and the universal pyz; ``mcpb validate`` and ``mcpb pack`` them; stamp server.json."""
    pyz = dist / "labmcp.pyz"
    if not pyz.is_file():
        sys.exit(f"build_zipapp.py: {pyz} is missing; build it first (make pyz)")
    stage = WORK.parent / "mcpb"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "server").mkdir(parents=True)
    manifest = stage / "manifest.json"
    manifest.write_text(json.dumps(bundle.manifest(), indent=2) + "\n", encoding="utf-8")
    shutil.copyfile(ROOT / "labmcp" / "assets" / "icon-512.png", stage / bundle.ICON)
    shutil.copyfile(pyz, stage / bundle.ENTRY_POINT)
    subprocess.run([*mcpb, "validate", str(manifest)], check=True)  # noqa: S603  # our own argument list
    packed = WORK.parent / "labmcp-packed.mcpb"
    subprocess.run([*mcpb, "pack", str(stage), str(packed)], check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    out = dist / "labmcp.mcpb"
    normalise_zip(packed, out, source_date_epoch(os.environ))
    subprocess.run([*mcpb, "info", str(out)], check=True)  # noqa: S603  # the official tool reads the result
    digest = sha256_file(out)
    entry = bundle.server_json(mcpb_sha256=digest)
    (dist / "server.json").write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
    sums = dist / "SHA256SUMS"
    kept = [line for line in sums.read_text(encoding="utf-8").splitlines() if not line.endswith("  labmcp.mcpb")]
    sums.write_text("".join(f"{line}\n" for line in [*kept, f"{digest}  labmcp.mcpb"]), encoding="utf-8")
    print(f"{out}: {out.stat().st_size / 1e6:.1f} MB, sha256 {digest}; {dist / 'server.json'} stamped")
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="build_zipapp.py", description=__doc__.splitlines()[0])
    parser.add_argument("--lock", action="store_true", help="re-resolve requirements/pyz.lock (needs the index)")
    parser.add_argument("--out", type=Path, default=DIST, help="output directory (default dist/)")
    parser.add_argument("--mcpb", action="store_true", help="wrap dist/labmcp.pyz into dist/labmcp.mcpb")
    parser.add_argument("--mcpb-cli", default="mcpb", help="the official mcpb command (npm @anthropic-ai/mcpb)")
    parser.add_argument(
        "--slim",
        action="append",
        default=[],
        metavar="TARGET",
        help="also write labmcp-TARGET.pyz (e.g. cp312-manylinux_aarch64 for an image; repeatable; 'all': "
        "every target); default: this machine's target only",
    )
    args = parser.parse_args(argv)
    if args.lock:
        refresh_lock(uv_command())
        return 0
    if args.mcpb:
        build_mcpb(args.out.absolute(), [args.mcpb_cli])
        return 0
    build(args.out.absolute(), slim_targets(args.slim))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
