#!/bin/sh
# Apply a backup written by config-backup.sh after checking its SHA256.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/config-restore.sh ENV FILE [--dry-run] [--yes]

Verifies FILE against FILE.sha256, then applies it to the namespace of k8s/overlays/ENV and
restarts the labmcp Deployment so the pods read the restored settings.

  --dry-run   verify and show the objects in FILE; change nothing
  --yes       do not ask for confirmation
  -h, --help  show this help

Environment: KUBECTL (default kubectl).
USAGE
}

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
# shellcheck source=k8s/scripts/lib.sh
. "$root/k8s/scripts/lib.sh"
kubectl=${KUBECTL:-kubectl}
env_name=""
file=""
dry_run=0
yes=0
while [ $# -gt 0 ]; do
    case $1 in
        --dry-run) dry_run=1; shift ;;
        --yes) yes=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "config-restore.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
        *)
            if [ -z "$env_name" ]; then env_name=$1
            elif [ -z "$file" ]; then file=$1
            else echo "config-restore.sh: too many arguments" >&2; exit 2
            fi
            shift
            ;;
    esac
done
require_env config-restore.sh "$env_name"
[ -n "$file" ] || { echo "config-restore.sh: FILE is required" >&2; usage >&2; exit 2; }
[ -r "$file" ] || { echo "config-restore.sh: cannot read $file" >&2; exit 2; }
[ -r "$file.sha256" ] || { echo "config-restore.sh: $file.sha256 is missing" >&2; exit 1; }
(cd "$(dirname "$file")" && sha256sum --check --status "$(basename "$file").sha256") \
    || { echo "config-restore.sh: $file does not match its SHA256; not restoring" >&2; exit 1; }

namespace=$(overlay_namespace "$root" "$env_name")
echo "restore into namespace $namespace:"
grep -E '^    (kind|  name):|^(kind|  name):' "$file" | grep -v 'kind: List' || true
if [ "$dry_run" -eq 1 ]; then
    exit 0
fi
if [ "$yes" -ne 1 ]; then
    printf 'Type the environment name to confirm: '
    read -r answer || answer=""
    [ "$answer" = "$env_name" ] || { echo "config-restore.sh: not confirmed; nothing changed" >&2; exit 1; }
fi
"$kubectl" --namespace "$namespace" apply --filename="$file"
"$kubectl" --namespace "$namespace" rollout restart deployment/labmcp
echo "restored $file into $namespace"
