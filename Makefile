# Everything a user or CI runs goes through these targets; `make test` builds its own venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test pytest lint typecheck demo fake-server clean k8s-tools k8s-validate pyz pyz-lock test-pyz bench mcpb

INSPECTOR := $(VENV)/npm/node_modules/.bin/mcp-inspector
INSPECTOR_VERSION := 2.12.0
# The official MCP Bundle command line: validates and packs dist/labmcp.mcpb (`make mcpb`, and the tests).
MCPB := $(VENV)/npm/node_modules/.bin/mcpb
MCPB_VERSION := 2.1.2

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labmcp needs Python >= 3.11")'
	@echo "Setting up $(VENV) (pip's output goes to $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@{ $(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[dev]'; } > $(VENV)/install.log 2>&1 \
		|| { tail -n 30 $(VENV)/install.log; echo "pip install failed; the whole log is $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

test: lint typecheck pytest

# The MCP Inspector CLI (npm) is the independent client the end-to-end tests also drive.
$(INSPECTOR):
	npm install --prefix $(VENV)/npm --no-audit --no-fund --loglevel=error @modelcontextprotocol/inspector@$(INSPECTOR_VERSION)

$(MCPB):
	npm install --prefix $(VENV)/npm --no-audit --no-fund --loglevel=error @anthropic-ai/mcpb@$(MCPB_VERSION)

# Offline validators for k8s/ in their own venv (checkov's dependency tree stays out of the server's).
K8S_TOOLS := $(VENV)/k8s-tools
K8S_STAMP := $(K8S_TOOLS)/.installed

$(K8S_STAMP): k8s/tools-requirements.txt
	$(PYTHON) -m venv $(K8S_TOOLS)
	$(K8S_TOOLS)/bin/pip install --quiet --upgrade pip
	$(K8S_TOOLS)/bin/pip install --quiet -r k8s/tools-requirements.txt
	touch $(K8S_STAMP)

k8s-tools: $(K8S_STAMP)

k8s-validate: $(STAMP) $(K8S_STAMP)
	sh k8s/validate.sh

# promtool (apt package prometheus) checks /metrics and the alert rules; .ci/run installs it and
# sets LABMCP_REQUIRE_TOOLS=1 / LABMCP_REQUIRE_PROMTOOL=1 so a missing tool fails instead of skipping.
pytest: $(STAMP) $(INSPECTOR) $(MCPB) $(K8S_STAMP)
	LABMCP_INSPECTOR=$(abspath $(INSPECTOR)) LABMCP_MCPB=$(abspath $(MCPB)) $(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check labmcp tests build_zipapp.py
	$(PY) -m ruff format --check labmcp tests build_zipapp.py

typecheck: $(STAMP)
	$(PY) -m mypy labmcp

demo: $(STAMP)
	$(PY) -m labmcp demo-session

fake-server: $(STAMP)
	$(PY) -m labmcp fake-server

# dist/labmcp.pyz (universal) and a slim file for this machine, from the hash-locked set in requirements/.
# PYZ_FLAGS="--slim cp312-manylinux_aarch64 ..." (or "--slim all") writes the slim files of other targets.
pyz: $(STAMP)
	$(PY) build_zipapp.py $(PYZ_FLAGS)

# dist/labmcp.mcpb: the pyz as an MCP Bundle for one-click install in Claude Desktop, plus dist/server.json.
mcpb: pyz $(MCPB)
	$(PY) build_zipapp.py --mcpb --mcpb-cli $(abspath $(MCPB))

# Re-resolve requirements/pyz.lock after changing runtime dependencies in pyproject.toml.
pyz-lock: $(STAMP)
	$(PY) build_zipapp.py --lock

# The end-to-end suite against the built file instead of `python -m labmcp` (proves what the pyz leaves out).
test-pyz: pyz
	LABMCP_SERVER_COMMAND="$(abspath $(PY)) -I $(abspath dist/labmcp.pyz)" $(PY) -m pytest -q tests/e2e

# wrk (Debian package) is the HTTP load generator: C, so the load client is not the bottleneck.
bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "make bench: installing wrk (apt-get install -y wrk)"; \
		apt-get install -y wrk >/dev/null 2>&1 || sudo -n apt-get install -y wrk >/dev/null 2>&1 || \
		echo "make bench: could not install wrk; the HTTP rows fall back to the Python load client"; }
	$(PY) -m tests.bench

clean:
	rm -rf $(VENV) dist build *.egg-info .mypy_cache .pytest_cache .ruff_cache
