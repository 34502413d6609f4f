#!/bin/sh
# Probe a running labmcp's health listener the way Kubernetes and Prometheus do.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/health-check.sh [--url BASE] [--timeout SECONDS]

Checks BASE/health/live (the process answers), BASE/health/ready (LabArchives sign-in and scope
resolved) and BASE/metrics (exports labmcp_ready). Exit 0 when all pass, 1 otherwise.
In a cluster: kubectl -n NS port-forward deploy/labmcp 8000 & k8s/scripts/health-check.sh

  --url BASE         health listener base URL (default http://127.0.0.1:8000)
  --timeout SECONDS  per-request timeout (default 5)
  -h, --help         show this help

Uses curl, wget or python3, whichever is found first.
USAGE
}

base=http://127.0.0.1:8000
timeout=5
while [ $# -gt 0 ]; do
    case $1 in
        --url) [ $# -ge 2 ] || { echo "health-check.sh: --url needs a value" >&2; exit 2; }; base=${2%/}; shift 2 ;;
        --timeout) [ $# -ge 2 ] || { echo "health-check.sh: --timeout needs seconds" >&2; exit 2; }; timeout=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "health-check.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

# fetch URL: print the body on stdout; fail on connection errors and non-2xx statuses.
fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl --silent --show-error --fail --max-time "$timeout" "$1"
    elif command -v wget >/dev/null 2>&1; then
        wget --quiet --timeout="$timeout" --output-document=- "$1"
    else
        python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())' "$1" "$timeout"
    fi
}

failed=0
for path in /health/live /health/ready; do
    if fetch "$base$path" >/dev/null 2>&1; then
        echo "ok    $path"
    else
        echo "FAIL  $path"
        failed=1
    fi
done
if metrics=$(fetch "$base/metrics" 2>/dev/null) && printf '%s\n' "$metrics" | grep -q '^labmcp_ready'; then
    echo "ok    /metrics ($(printf '%s\n' "$metrics" | grep '^labmcp_ready' | head -n 1))"
else
    echo "FAIL  /metrics (no labmcp_ready sample)"
    failed=1
fi
exit "$failed"
