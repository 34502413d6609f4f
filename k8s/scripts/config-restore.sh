#!/bin/sh
# Apply a backup written by config-backup.sh after checking its SHA256.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/config-restore.sh ENV FILE [--dry-run] [--yes]

Verifies FILE against FILE.sha256 (one line naming FILE), refuses an empty file, one without a
ConfigMap and one holding objects other than ConfigMaps and the Secret, then applies it to the
namespace of k8s/overlays/ENV and restarts the labmcp Deployment so the pods read the restored settings.

  --dry-run   verify and show the objects in FILE (same checks); change nothing
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

# Verify before anything else, --dry-run included: a backup that cannot be restored must say so now.
[ -s "$file" ] || die "$file is empty; not a backup"
[ -r "$file.sha256" ] || die "$file.sha256 is missing"
work=$(mktemp -d) || die "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT INT TERM
# Exactly one line, naming exactly this file: a checksum of some other file proves nothing.
expected=$(basename "$file")
awk -v name="$expected" 'NF == 2 && $2 == name && length($1) == 64 && $1 ~ /^[0-9a-f]+$/ { ok++ }
    END { exit !(NR == 1 && ok == 1) }' "$file.sha256" \
    || die "$file.sha256 must be one SHA256 line for $expected"
(cd "$(dirname "$file")" && sha256sum --check --status "$expected.sha256") \
    || die "$file does not match its SHA256; not restoring"
object_kinds "$file" >"$work/kinds"
grep -qx ConfigMap "$work/kinds" || die "$file holds no ConfigMap; not a labmcp backup"
if grep -vxE 'List|ConfigMap|Secret' "$work/kinds" >"$work/foreign"; then
    die "$file holds objects a backup never has: $(tr '\n' ' ' <"$work/foreign")"
fi

namespace=$(overlay_namespace "$root" "$env_name")
echo "restore into namespace $namespace:"
# The metadata names of the objects: top-level documents (2 spaces) and List items (4 spaces).
sed -n -E 's/^(  |    )name: */  /p' "$file"
if [ "$dry_run" -eq 1 ]; then
    exit 0
fi
if [ "$yes" -ne 1 ]; then
    printf 'Type the environment name to confirm: '
    read -r answer || answer=""
    [ "$answer" = "$env_name" ] || { echo "config-restore.sh: not confirmed; nothing changed" >&2; exit 1; }
fi
"$kubectl" --namespace "$namespace" apply --filename="$file" || die "kubectl apply failed; the Deployment was not restarted"
"$kubectl" --namespace "$namespace" rollout restart deployment/labmcp || die "restored, but the restart failed"
echo "restored $file into $namespace"
