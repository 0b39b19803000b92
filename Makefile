# Developer entry points. Everything runs in the project's virtualenv .venv, created on demand.
#
#   make test   run the test suite (no Pulumi CLI needed)
#   make lint   ruff and mypy
#   make demo   the example stack against the local CTS emulator, with the real Pulumi CLI

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: demo test lint venv clean-demo

$(PY):
	$(PYTHON) -m venv $(VENV)
	-$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when the package metadata changed.
$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed-test

# The CLI check runs first with the system Python, so a missing CLI is reported before any install.
demo:
	@$(PYTHON) scripts/demo.py --check-cli
	@$(MAKE) --no-print-directory $(VENV)/.installed-test
	$(PY) scripts/demo.py

test: $(VENV)/.installed-test
	$(PY) -m pytest

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

clean-demo:
	rm -rf .work/pulumi-state .work/emulator.log
