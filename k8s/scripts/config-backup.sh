#!/bin/sh
# Save an environment's live labmcp ConfigMaps (and optionally its Secret) to a file config-restore.sh reads.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/config-backup.sh ENV [--out DIR] [--include-secret]

Writes DIR/labmcp-ENV-<UTC time>.yaml (default DIR: ./labmcp-backups) with the ConfigMaps labelled
app.kubernetes.io/name=labmcp in the environment's namespace, stripped of server-side fields so
`config-restore.sh` can apply it to the same or a new cluster. A SHA256 file is written beside it.
Fails, writing nothing, when kubectl fails or finds no labmcp ConfigMap.

  --out DIR          directory for the backup (created, mode 700)
  --include-secret   also save the Secret labmcp-credentials (the file is then mode 600; keep it
                     somewhere as safe as the credentials themselves)
  -h, --help         show this help

Environment: KUBECTL (default kubectl).
USAGE
}

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
# shellcheck source=k8s/scripts/lib.sh
. "$root/k8s/scripts/lib.sh"
kubectl=${KUBECTL:-kubectl}
env_name=""
out=./labmcp-backups
include_secret=0
while [ $# -gt 0 ]; do
    case $1 in
        --out) [ $# -ge 2 ] || { echo "config-backup.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift 2 ;;
        --include-secret) include_secret=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "config-backup.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$env_name" ] || { echo "config-backup.sh: one ENV only" >&2; exit 2; }; env_name=$1; shift ;;
    esac
done
require_env config-backup.sh "$env_name"

namespace=$(overlay_namespace "$root" "$env_name")
umask 077
mkdir -p "$out" || die "cannot create $out"
file="$out/labmcp-$env_name-$(date -u +%Y%m%dT%H%M%SZ).yaml"
work=$(mktemp -d) || die "cannot create a temporary directory"
trap 'rm -rf "$work"' EXIT INT TERM

# Each step into its own file, checked before the next reads it (no pipes: sh has no pipefail).
run_to "$work/configmaps.yaml" "$kubectl" --namespace "$namespace" get configmap \
    --selector app.kubernetes.io/name=labmcp --output=yaml
object_kinds "$work/configmaps.yaml" >"$work/kinds"
grep -qx ConfigMap "$work/kinds" \
    || die "no labmcp ConfigMap in namespace $namespace (wrong cluster or context?); no backup written"
# Server-set fields would make a later apply conflict or fail; drop them.
strip='/^ *(resourceVersion|uid|creationTimestamp|selfLink):/d'
sed -E "$strip" "$work/configmaps.yaml" >"$work/backup.yaml" || die "cannot write the backup"
if [ "$include_secret" -eq 1 ]; then
    run_to "$work/secret.yaml" "$kubectl" --namespace "$namespace" get secret labmcp-credentials --output=yaml
    [ "$(object_kinds "$work/secret.yaml")" = Secret ] || die "kubectl returned no Secret labmcp-credentials"
    printf -- '---\n' >>"$work/backup.yaml"
    sed -E "$strip" "$work/secret.yaml" >>"$work/backup.yaml" || die "cannot write the backup"
fi
require_nonempty "$work/backup.yaml" "the backup"
(cd "$work" && sha256sum backup.yaml >backup.sha256) || die "cannot checksum the backup"
mv "$work/backup.yaml" "$file" || die "cannot write $file"
# The checksum names the final file, so it is written only once the backup is in place.
sed "s/  backup\.yaml\$/  $(basename "$file")/" "$work/backup.sha256" >"$file.sha256" \
    || die "cannot write $file.sha256"
echo "$file"
