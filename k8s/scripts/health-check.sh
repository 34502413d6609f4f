#!/bin/sh
# Probe a running labmcp's health listener the way Kubernetes and Prometheus do, and say why not.
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/scripts/health-check.sh [--url BASE] [--timeout SECONDS]

Checks BASE/health/live (the process answers), BASE/health/ready (this pod can serve: start-up
settled, not shutting down) and BASE/metrics (exports labmcp_ready and labmcp_upstream_up). Prints
the reasons /health/ready gives for not being ready and its warnings (e.g. LabArchives unreachable,
which does not make a pod unready). Exit 0 when all three pass, 1 otherwise.
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
case $base in
    http://?*|https://?*) ;;
    *) echo "health-check.sh: --url must be an http:// or https:// URL, got '$base'" >&2; exit 2 ;;
esac
case $timeout in
    ""|*[!0-9]*|0) echo "health-check.sh: --timeout must be a whole number of seconds above 0, got '$timeout'" >&2; exit 2 ;;
esac
work=$(mktemp -d) || { echo "health-check.sh: cannot create a temporary directory" >&2; exit 1; }
trap 'rm -rf "$work"' EXIT INT TERM

# fetch URL FILE: the body into FILE (also for error statuses); prints the HTTP status, or 000 when
# there was no answer at all.
fetch() {
    if command -v curl >/dev/null 2>&1; then
        curl --silent --max-time "$timeout" --output "$2" --write-out '%{http_code}' "$1" || printf '000'
    elif command -v wget >/dev/null 2>&1; then
        if wget --quiet --timeout="$timeout" --tries=1 --content-on-error --output-document="$2" "$1"; then
            printf '200'
        elif [ -s "$2" ]; then
            printf '503'  # wget hides the status; an answer with a body on a health route is an error status
        else
            printf '000'
        fi
    else
        python3 - "$1" "$2" "$timeout" <<'PYTHON' || printf '000'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[3])) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
open(sys.argv[2], "wb").write(body)
sys.stdout.write(str(status))
PYTHON
    fi
}

# json_list KEY FILE: the strings of the JSON array KEY in the health listener's one-line answer.
json_list() {
    awk -v key="\"$1\": [" '{
        start = index($0, key); if (!start) next
        rest = substr($0, start + length(key)); rest = substr(rest, 1, index(rest, "]") - 1)
        n = split(rest, items, /", "/)
        for (i = 1; i <= n; i++) { gsub(/^"|"$/, "", items[i]); if (items[i] != "") print items[i] }
    }' "$2"
}

failed=0
: >"$work/live"
: >"$work/ready"
: >"$work/metrics"
status=$(fetch "$base/health/live" "$work/live")
if [ "$status" = 200 ]; then
    echo "ok    /health/live"
else
    echo "FAIL  /health/live (HTTP $status)"
    failed=1
fi

status=$(fetch "$base/health/ready" "$work/ready")
if [ "$status" = 200 ]; then
    echo "ok    /health/ready"
else
    echo "FAIL  /health/ready (HTTP $status)"
    failed=1
fi
json_list reasons "$work/ready" >"$work/reasons"
json_list warnings "$work/ready" >"$work/warnings"
while IFS= read -r line; do echo "      reason: $line"; done <"$work/reasons"
while IFS= read -r line; do echo "      warning: $line"; done <"$work/warnings"

status=$(fetch "$base/metrics" "$work/metrics")
if [ "$status" = 200 ] && grep '^labmcp_ready ' "$work/metrics" >"$work/gauges"; then
    grep '^labmcp_upstream_up ' "$work/metrics" >>"$work/gauges" || true
    echo "ok    /metrics ($(awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $0 }' "$work/gauges"))"
else
    echo "FAIL  /metrics (HTTP $status, no labmcp_ready sample)"
    failed=1
fi
exit "$failed"
