#!/bin/sh
# Remove what deploy.sh created for one environment.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/cleanup.sh ENV [--yes] [--with-secret] [--with-namespace] [--dry-run]

Deletes the resources of k8s/overlays/ENV (dev, staging or prod) from the cluster. The Secret
labmcp-credentials and the namespace are kept unless asked for. Asks before deleting unless --yes.

  --yes             do not ask for confirmation
  --with-secret     also delete the Secret labmcp-credentials
  --with-namespace  also delete the namespace (and everything else in it)
  --dry-run         print what would be deleted and change nothing
  -h, --help        show this help

Environment: KUBECTL (default kubectl).
USAGE
}

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
# shellcheck source=k8s/scripts/lib.sh
. "$root/k8s/scripts/lib.sh"
kubectl=${KUBECTL:-kubectl}
env_name=""
yes=0
with_secret=0
with_namespace=0
dry_run=0
while [ $# -gt 0 ]; do
    case $1 in
        --yes) yes=1; shift ;;
        --with-secret) with_secret=1; shift ;;
        --with-namespace) with_namespace=1; shift ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "cleanup.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$env_name" ] || { echo "cleanup.sh: one ENV only" >&2; exit 2; }; env_name=$1; shift ;;
    esac
done
require_env cleanup.sh "$env_name"

namespace=$(overlay_namespace "$root" "$env_name")
# Inside k8s/ because kustomize accepts only relative paths to other kustomizations.
work=$(mktemp -d "$root/k8s/.render.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# Everything but the Namespace object, so that the Secret (not in the overlay) survives by default.
cat >"$work/kustomization.yaml" <<KUSTOMIZATION
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$env_name
patches:
  - patch: |-
      \$patch: delete
      apiVersion: v1
      kind: Namespace
      metadata:
        name: $namespace
KUSTOMIZATION
run_to "$work/resources.yaml" "$kubectl" kustomize "$work"
grep -qx 'kind: Deployment' "$work/resources.yaml" || die "the rendered overlay has no Deployment"

echo "environment $env_name, namespace $namespace: delete the overlay's resources" \
    "$([ "$with_secret" -eq 1 ] && echo '+ Secret labmcp-credentials')" \
    "$([ "$with_namespace" -eq 1 ] && echo '+ the namespace')"
if [ "$dry_run" -eq 1 ]; then
    grep -E '^(kind|  name):' "$work/resources.yaml"
    exit 0
fi
if [ "$yes" -ne 1 ]; then
    printf 'Type the environment name to confirm: '
    read -r answer || answer=""
    [ "$answer" = "$env_name" ] || { echo "cleanup.sh: not confirmed; nothing deleted" >&2; exit 1; }
fi

"$kubectl" delete --ignore-not-found --filename="$work/resources.yaml" || die "kubectl delete failed"
if [ "$with_secret" -eq 1 ]; then
    "$kubectl" --namespace "$namespace" delete secret labmcp-credentials --ignore-not-found \
        || die "cannot delete the Secret labmcp-credentials"
fi
if [ "$with_namespace" -eq 1 ]; then
    "$kubectl" delete namespace "$namespace" --ignore-not-found || die "cannot delete namespace $namespace"
fi
echo "cleaned up $env_name"
