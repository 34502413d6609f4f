#!/bin/sh
# Build the slim pyz files the image needs and the container image from k8s/Dockerfile.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/build.sh [--image NAME:TAG] [--skip-pyz] [--push]

Builds the slim pyz files of linux x86_64 and aarch64 (make pyz with --slim) and then the image from
k8s/Dockerfile with the repository root as context; the image takes the slim file of the platform it
is built for. Their SHA256s are printed so the image can be traced to a release asset.

  --image NAME:TAG   image reference to tag (default labmcp:<version from pyproject.toml>)
  --skip-pyz         use the existing dist/labmcp-cp312-manylinux_*.pyz
  --push             push the image after building
  -h, --help         show this help

Environment: CONTAINER_ENGINE (default docker; podman works), MAKE (default make).
USAGE
}

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
# shellcheck source=k8s/scripts/lib.sh
. "$root/k8s/scripts/lib.sh"
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

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/pyproject.toml") || die "cannot read pyproject.toml"
case $version in
    ""|*[!0-9A-Za-z.+-]*) die "no single version in pyproject.toml ('$version')" ;;
esac
[ -n "$image" ] || image="labmcp:$version"

# The image carries the slim pyz of the platform it is built for (k8s/Dockerfile's pyz stage); the
# Python minor matches the Dockerfile's base image.
slim="cp312-manylinux_x86_64 cp312-manylinux_aarch64"
if [ "$build_pyz" -eq 1 ]; then
    flags=""
    for target in $slim; do flags="$flags --slim $target"; done
    "${MAKE:-make}" -C "$root" pyz PYZ_FLAGS="$flags" || die "make pyz failed"
fi
for target in $slim; do
    [ -s "$root/dist/labmcp-$target.pyz" ] || die "$root/dist/labmcp-$target.pyz is missing (run without --skip-pyz)"
done
command -v "$engine" >/dev/null 2>&1 || die "$engine not found (set CONTAINER_ENGINE)"

for target in $slim; do
    sha256sum "$root/dist/labmcp-$target.pyz" || die "cannot checksum dist/labmcp-$target.pyz"
done
"$engine" build --file "$root/k8s/Dockerfile" --build-arg "LABMCP_VERSION=$version" --tag "$image" "$root" \
    || die "$engine build failed"
if [ "$push" -eq 1 ]; then
    "$engine" push "$image" || die "$engine push failed"
fi
echo "built $image"
