# Shared by the ops scripts (sourced, not run). POSIX sh has no pipefail, so the scripts never pipe
# one command into another: each step writes a file, its exit status is checked, and its output is
# checked for what it must contain before the next step reads it. Callers define usage() first.

SCRIPT=$(basename -- "$0")

# die MESSAGE...: print "SCRIPT: MESSAGE" on stderr and exit 1.
die() {
    echo "$SCRIPT: $*" >&2
    exit 1
}

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
    ns=$(sed -n 's/^namespace: *//p' "$1/k8s/overlays/$2/kustomization.yaml") \
        || die "cannot read k8s/overlays/$2/kustomization.yaml"
    case $ns in
        ""|*[!a-z0-9-]*) die "k8s/overlays/$2/kustomization.yaml declares no valid namespace ('$ns')" ;;
    esac
    printf '%s\n' "$ns"
}

# run_to FILE COMMAND...: run COMMAND with stdout into FILE; on failure say which step failed and exit.
run_to() {
    out=$1
    shift
    "$@" >"$out" || die "failed ($?): $*"
}

# require_nonempty FILE WHAT: exit unless FILE has content.
require_nonempty() {
    [ -s "$1" ] || die "$2 is empty"
}

# require_positive_int NAME VALUE: exit 2 unless VALUE is a whole number above zero.
require_positive_int() {
    case $2 in
        ""|*[!0-9]*|0|0*) echo "$SCRIPT: $1 must be a whole number above 0, got '$2'" >&2; exit 2 ;;
    esac
}

# object_kinds FILE: the kind of every top-level object in a kubectl YAML file (documents and the
# items of a List), one per line.
object_kinds() {
    sed -n -e 's/^kind: *//p' -e 's/^- kind: *//p' -e 's/^  kind: *//p' "$1"
}
