# backrest-queue — the README's commands. Everything installs what it needs first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCAL := .local

.PHONY: install test test-unit test-kubesim demo up down bench bench-load clean

install: $(STAMP)

$(STAMP): requirements.lock setup.cfg pyproject.toml scripts/system-packages.sh
	./scripts/system-packages.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e . || $(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q

test-unit: install
	$(BIN)/python -m pytest -q tests/unit

test-kubesim: install
	$(BIN)/python -m pytest -q tests/kubesim

demo: install
	$(BIN)/python scripts/stack.py demo

up: install
	$(BIN)/python scripts/stack.py up

down:
	@test -x $(BIN)/python && $(BIN)/python scripts/stack.py down || true

bench: install
	$(BIN)/python bench/kubesim_bench.py

# 1,000 backups across 200 clusters, one watcher (about 3 minutes; QUICK=1: 100 across 20, about 1 minute)
bench-load: install
	$(BIN)/python bench/load_bench.py $(if $(QUICK),--quick,)

clean: down
	rm -rf $(VENV) $(LOCAL) *.egg-info .pytest_cache
