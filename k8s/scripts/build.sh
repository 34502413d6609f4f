#!/bin/sh
# Build dist/labmcp.pyz and the container image from k8s/Dockerfile.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/build.sh [--image NAME:TAG] [--skip-pyz] [--push]

Builds dist/labmcp.pyz (make pyz) and then the image from k8s/Dockerfile with the repository root
as context. The pyz's SHA256 is printed so the image can be traced to a release asset.

  --image NAME:TAG   image reference to tag (default labmcp:<version from pyproject.toml>)
  --skip-pyz         use the existing dist/labmcp.pyz
  --push             push the image after building
  -h, --help         show this help

Environment: CONTAINER_ENGINE (default docker; podman works), MAKE (default make).
USAGE
}

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
engine=${CONTAINER_ENGINE:-docker}
image=""
build_pyz=1
push=0
while [ $# -gt 0 ]; do
    case $1 in
        --image) [ $# -ge 2 ] || { echo "build.sh: --image needs a value" >&2; exit 2; }; image=$2; shift 2 ;;
        --skip-pyz) build_pyz=0; shift ;;
        --push) push=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "build.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml" | head -n 1)
[ -n "$image" ] || image="labmcp:$version"

if [ "$build_pyz" -eq 1 ]; then
    "${MAKE:-make}" -C "$root" pyz
fi
[ -f "$root/dist/labmcp.pyz" ] || { echo "build.sh: $root/dist/labmcp.pyz is missing (run make pyz)" >&2; exit 1; }
command -v "$engine" >/dev/null 2>&1 || { echo "build.sh: $engine not found (set CONTAINER_ENGINE)" >&2; exit 1; }

sha256sum "$root/dist/labmcp.pyz"
"$engine" build --file "$root/k8s/Dockerfile" --build-arg "LABMCP_VERSION=$version" --tag "$image" "$root"
if [ "$push" -eq 1 ]; then
    "$engine" push "$image"
fi
echo "built $image"
