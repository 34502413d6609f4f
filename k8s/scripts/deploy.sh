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
                     _TOKEN) and LABMCP_HTTP_TOKEN; only keys k8s/base/secret.template.yaml names,
                     each with a value (an empty file or an unknown key is refused)
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
require_positive_int --timeout "$timeout"
if [ -n "$secrets" ]; then
    [ -r "$secrets" ] || { echo "deploy.sh: cannot read $secrets" >&2; exit 2; }
    [ -s "$secrets" ] || { echo "deploy.sh: $secrets is empty" >&2; exit 2; }
    # Only keys of k8s/base/secret.template.yaml (its alternatives in comments included), each
    # KEY=non-empty value, at least one: a typo in a key would become a Secret the server never reads.
    template="$root/k8s/base/secret.template.yaml"
    if ! awk -F= -v template="$template" '
        BEGIN {
            while ((getline line < template) > 0)
                if (match(line, /^ *#? *[A-Z][A-Z0-9_]*: "</)) { sub(/^ *#? */, "", line); sub(/:.*/, "", line); known[line] = 1 }
        }
        /^[[:space:]]*(#|$)/ { next }
        !($1 in known) || $2 == "" { bad = bad " " NR }
        { keys++ }
        END {
            if (bad != "") print "line(s)" bad ": not KEY=value with a key of " template
            else if (!keys) print "no KEY=value line"
            exit (bad != "" || !keys)
        }
    ' "$secrets" >&2; then
        echo "deploy.sh: $secrets is not a credentials env file (see k8s/base/secret.template.yaml)" >&2
        exit 2
    fi
fi

overlay="$root/k8s/overlays/$env_name"
namespace=$(overlay_namespace "$root" "$env_name")
# Inside k8s/ because kustomize accepts only relative paths to other kustomizations.
work=$(mktemp -d "$root/k8s/.render.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

# An image override is a kustomization on top of the overlay, so the repository stays untouched.
if [ -n "$image" ]; then
    case $image in
        *@sha256:*)
            new_name=${image%@*}
            pin="digest: ${image#*@}"
            case ${image#*@sha256:} in
                *[!0-9a-f]*) echo "deploy.sh: --image digest must be sha256:<64 hex digits>: $image" >&2; exit 2 ;;
            esac
            [ ${#pin} -eq 79 ] || { echo "deploy.sh: --image digest must be sha256:<64 hex digits>: $image" >&2; exit 2; }
            ;;
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

# Each step into its own file, checked before the next reads it (no pipes: sh has no pipefail).
run_to "$work/rendered.yaml" "$kubectl" kustomize "$overlay"
grep -qx 'kind: Deployment' "$work/rendered.yaml" || die "the rendered overlay has no Deployment"
if [ "$dry_run" -eq 1 ]; then
    cat "$work/rendered.yaml"
    exit 0
fi

run_to "$work/namespace.yaml" "$kubectl" create namespace "$namespace" --dry-run=client --output=yaml
require_nonempty "$work/namespace.yaml" "kubectl's Namespace manifest"
"$kubectl" apply --filename="$work/namespace.yaml" || die "cannot create namespace $namespace"
if [ -n "$secrets" ]; then
    run_to "$work/secret.yaml" "$kubectl" --namespace "$namespace" create secret generic labmcp-credentials \
        --from-env-file="$secrets" --dry-run=client --output=yaml
    require_nonempty "$work/secret.yaml" "kubectl's Secret manifest"
    "$kubectl" --namespace "$namespace" apply --filename="$work/secret.yaml" || die "cannot update the Secret"
elif ! "$kubectl" --namespace "$namespace" get secret labmcp-credentials >/dev/null 2>&1; then
    echo "deploy.sh: Secret labmcp-credentials is missing in $namespace; pass --secrets FILE" >&2
    exit 1
fi
"$kubectl" apply --filename="$work/rendered.yaml" || die "kubectl apply failed"
"$kubectl" --namespace "$namespace" rollout status deployment/labmcp --timeout="${timeout}s" \
    || die "the rollout did not finish within ${timeout}s"
echo "deployed $env_name to namespace $namespace"
