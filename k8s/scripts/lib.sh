# Shared by the ops scripts (sourced, not run): the environment check every ENV-taking script makes.
# Callers define usage() first.

# require_env SCRIPT NAME: exit 2 with a clear message unless NAME is dev, staging or prod.
require_env() {
    case $2 in
        dev|staging|prod) ;;
        "") echo "$1: ENV is required (dev, staging or prod)" >&2; usage >&2; exit 2 ;;
        *) echo "$1: unknown ENV '$2' (dev, staging or prod)" >&2; exit 2 ;;
    esac
}

# overlay_namespace ROOT ENV: the namespace an overlay deploys to, as its kustomization declares it.
overlay_namespace() {
    sed -n 's/^namespace: *//p' "$1/k8s/overlays/$2/kustomization.yaml"
}
