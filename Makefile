# Textline: `make run` serves the embedded default; `make test` runs every test.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# One stamp per set of packages, so that `make run` after `make test` (or before it) installs
# only what is missing: serving needs no test tool.
STAMP_SERVE := $(VENV)/.installed-serve
STAMP_DEV   := $(VENV)/.installed-dev

.PHONY: run test install install-serve lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP_SERVE): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $(STAMP_SERVE)

$(STAMP_DEV): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP_DEV)

## What serving needs, and nothing else.
install-serve: $(STAMP_SERVE)

## Serving and the dev tools (pytest, Playwright, schemathesis, ruff, py-spy).
install: $(STAMP_DEV)

## Serve on 127.0.0.1:8000 with SQLite, the console SMS provider and demo users.
run: install-serve
	$(BIN)/textline serve --demo --host 127.0.0.1 --port 8000

## Install the dev dependencies and run the whole suite (SQLite and PostgreSQL, browser tests).
test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check app tests bench

## Extraction timing, then load (real webhook against a bare FastAPI baseline), dashboard events,
## and the queue with 100,000 cases (bench/README.md). PostgreSQL parts run where it is reachable.
bench: install
	$(BIN)/python bench/bench_extract.py
	$(BIN)/python bench/bench_load.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_sse.py
	$(BIN)/python bench/bench_queue.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache textline.db textline.db-wal textline.db-shm
