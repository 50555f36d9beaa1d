# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# `make demo` installs only what predicting needs; `make test` adds the dev tools and the
# rendering extra (the renderer's tests), `make setup-render` the renderer alone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-all lint setup setup-dev clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# CPU build of torch first; exact pin so no later install swaps in a CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install torch==2.13.0 -e .
	# BlazePose Heavy (photos' default landmarks) from the npm registry, checked by SHA-256.
	# Without it photos use the full network and say so; the set-up goes on.
	$(BIN)/monopose fetch-models || echo "BlazePose Heavy not fetched: run $(BIN)/monopose fetch-models later"
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install torch==2.13.0 -e ".[dev,render]"
	touch $(DEV_STAMP)

setup: $(STAMP)

setup-dev: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/monopose demo --out monopose-demo

test: $(DEV_STAMP)
	$(BIN)/ruff check monopose tests benchmarks
	$(BIN)/mypy monopose
	$(BIN)/pytest -q

test-all: $(DEV_STAMP)
	$(BIN)/pytest -q -m ""

clean:
	rm -rf $(VENV)
