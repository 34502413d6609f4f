# Everything a user or CI runs goes through these targets; `make test` builds its own venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test pytest lint typecheck demo fake-server clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "labmcp needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: lint typecheck pytest

pytest: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check labmcp tests build_zipapp.py
	$(PY) -m ruff format --check labmcp tests build_zipapp.py

typecheck: $(STAMP)
	$(PY) -m mypy labmcp

demo: $(STAMP)
	$(PY) -m labmcp demo-session

fake-server: $(STAMP)
	$(PY) -m labmcp fake-server

clean:
	rm -rf $(VENV) dist build *.egg-info .mypy_cache .pytest_cache .ruff_cache
