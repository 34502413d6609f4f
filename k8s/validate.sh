#!/bin/sh
# Every offline check of k8s/: the tests in tests/k8s (render, schemas, checkov, linters, promtool).
set -eu

usage() {
    cat <<'USAGE'
Usage: k8s/validate.sh [PYTEST-ARGS...]

Runs tests/k8s with the repository venv: manifests, the Dockerfile, compose files, the workflow,
Terraform, the log pipelines, monitoring and the ops scripts. The validators come from
.venv/k8s-tools (python3 -m venv .venv/k8s-tools && .venv/k8s-tools/bin/pip install -r
k8s/tools-requirements.txt), python-hcl2 from the repository venv's dev extra and promtool from the
prometheus package (apt-get install prometheus). A missing tool skips its test, unless
LABMCP_REQUIRE_TOOLS=1 (as in CI), which makes it fail; terraform (for `terraform fmt -check`) is on
no registry and skips unless LABMCP_REQUIRE_TERRAFORM=1.

  -h, --help   show this help
USAGE
}

case ${1:-} in
    -h|--help) usage; exit 0 ;;
esac
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
exec "${PYTHON:-$root/.venv/bin/python}" -m pytest -q tests/k8s "$@"
