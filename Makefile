# Each target sets itself up from nothing: a .venv with the project installed (editable).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint bench chaos clean

# Python writes and reads compiled modules, as it does in a usual shell. A shell that exports
# PYTHONDONTWRITEBYTECODE=1 (this machine's does) made every process the tests, the demo and the
# benchmarks start compile the project's ~370 modules again: ~0.3-0.4 CPU-s each (1.3-1.65 against
# 1.13-1.22 CPU-s to import the CLI and the worker, measured side by side). Empty means "write".
export PYTHONDONTWRITEBYTECODE :=

# The bench extra (psutil, the official Shopify and WooCommerce clients) is part of every install:
# the benchmarks' smoke test in `make test` drives them.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "marketsync needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	@touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/marketsync demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# Two test processes: most tests wait on workers, simulators and databases rather than compute. Each
# process has its own PostgreSQL schemas and claims its own Redis database number.
test: lint
	$(BIN)/pytest -n 2

# Benchmarks measure; they write bench/results/*.json. `make bench BENCH=import` runs one.
bench: install
	$(BIN)/python -m bench $(BENCH)

# The chaos run (issue #15): the hub on PostgreSQL and its own redis-server under load and faults for
# 3 minutes, then left to converge; prints each invariant and writes bench/results/chaos.json.
chaos: install
	$(BIN)/python -m bench chaos

clean:
	rm -rf $(VENV) .marketsync .marketsync-demo .pytest_cache .mypy_cache .ruff_cache
