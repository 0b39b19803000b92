# Shortcuts for scripts/dev.py, which creates .venv on demand and runs each job inside it.
#
#   make test   the test suite (no Pulumi CLI needed)
#   make lint   ruff and mypy
#   make demo   the example stack against the local CTS emulator (the Pulumi CLI, else the local runner)
#   make bench  the provider cost benchmark

PYTHON ?= python3

.PHONY: demo test lint bench clean-demo

demo test lint bench:
	$(PYTHON) scripts/dev.py $@

clean-demo:
	rm -rf .work/pulumi-state .work/local-state .work/emulator.log
