# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all lint setup clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# CPU build of torch first; exact pin so no later install swaps in a CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install torch==2.13.0 -e ".[dev,render]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/monopose demo --out monopose-demo

test: $(STAMP)
	$(BIN)/ruff check monopose tests benchmarks
	$(BIN)/mypy monopose/core
	$(BIN)/pytest -q

test-all: $(STAMP)
	$(BIN)/pytest -q -m ""

clean:
	rm -rf $(VENV)
