#!/bin/sh
# Render a kustomize overlay and apply it, then wait for the rollout.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/deploy.sh ENV [--image REF] [--secrets FILE] [--dry-run] [--timeout SECONDS]

ENV is dev, staging or prod (k8s/overlays/ENV). Renders the overlay with `kubectl kustomize`,
creates or updates the Secret labmcp-credentials from FILE if given (else it must exist already),
applies the manifests and waits for the Deployment to become available.

  --image REF        image to run instead of the overlay's, e.g. registry/labmcp:0.2.0 or
                     registry/labmcp@sha256:<digest> (pinning a digest is recommended for prod)
  --secrets FILE     env file with LABARCHIVES_AKID, LABARCHIVES_SECRET, LABARCHIVES_UID (or _USER and
                     _TOKEN) and LABMCP_HTTP_TOKEN; see k8s/base/secret.template.yaml
  --dry-run          print the rendered manifests and change nothing
  --timeout SECONDS  how long to wait for the rollout (default 180)
  -h, --help         show this help

Environment: KUBECTL (default kubectl), KUBECONFIG and the current context choose the cluster.
USAGE
}

root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
# shellcheck source=k8s/scripts/lib.sh
. "$root/k8s/scripts/lib.sh"
kubectl=${KUBECTL:-kubectl}
env_name=""
image=""
secrets=""
dry_run=0
timeout=180
while [ $# -gt 0 ]; do
    case $1 in
        --image) [ $# -ge 2 ] || { echo "deploy.sh: --image needs a value" >&2; exit 2; }; image=$2; shift 2 ;;
        --secrets) [ $# -ge 2 ] || { echo "deploy.sh: --secrets needs a file" >&2; exit 2; }; secrets=$2; shift 2 ;;
        --timeout) [ $# -ge 2 ] || { echo "deploy.sh: --timeout needs seconds" >&2; exit 2; }; timeout=$2; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "deploy.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$env_name" ] || { echo "deploy.sh: one ENV only" >&2; exit 2; }; env_name=$1; shift ;;
    esac
done
require_env deploy.sh "$env_name"
if [ -n "$secrets" ] && [ ! -r "$secrets" ]; then
    echo "deploy.sh: cannot read $secrets" >&2
    exit 2
fi

overlay="$root/k8s/overlays/$env_name"
namespace=$(overlay_namespace "$root" "$env_name")
# Inside k8s/ because kustomize accepts only relative paths to other kustomizations.
work=$(mktemp -d "$root/k8s/.render.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# An image override is a kustomization on top of the overlay, so the repository stays untouched.
if [ -n "$image" ]; then
    case $image in
        *@sha256:*) new_name=${image%@*}; pin="digest: ${image#*@}" ;;
        *)
            last=${image##*/}
            case $last in
                *:*) new_name=${image%:*}; pin="newTag: \"${image##*:}\"" ;;
                *) echo "deploy.sh: --image needs a tag or a digest: $image" >&2; exit 2 ;;
            esac
            ;;
    esac
    cat >"$work/kustomization.yaml" <<KUSTOMIZATION
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../overlays/$env_name
images:
  - name: registry.example.com/labmcp
    newName: $new_name
    $pin
KUSTOMIZATION
    overlay=$work
fi

"$kubectl" kustomize "$overlay" >"$work/rendered.yaml"
if [ "$dry_run" -eq 1 ]; then
    cat "$work/rendered.yaml"
    exit 0
fi

"$kubectl" create namespace "$namespace" --dry-run=client --output=yaml | "$kubectl" apply --filename=-
if [ -n "$secrets" ]; then
    "$kubectl" --namespace "$namespace" create secret generic labmcp-credentials \
        --from-env-file="$secrets" --dry-run=client --output=yaml | "$kubectl" apply --filename=-
elif ! "$kubectl" --namespace "$namespace" get secret labmcp-credentials >/dev/null 2>&1; then
    echo "deploy.sh: Secret labmcp-credentials is missing in $namespace; pass --secrets FILE" >&2
    exit 1
fi
"$kubectl" apply --filename="$work/rendered.yaml"
"$kubectl" --namespace "$namespace" rollout status deployment/labmcp --timeout="${timeout}s"
echo "deployed $env_name to namespace $namespace"
