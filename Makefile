# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# `make demo` installs only what predicting needs; `make test` adds the dev tools and the
# rendering extra (the renderer's tests), `make setup-render` the renderer alone.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
HEAVY := monopose/detect/models/pose_landmark_heavy.tflite

.PHONY: demo test test-all lint setup setup-dev clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# CPU build of torch first; exact pin so no later install swaps in a CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install torch==2.13.0 -e .
	touch $(STAMP)

# BlazePose Heavy (photos' default landmarks) from the npm registry, checked by SHA-256; also
# for a .venv made before it existed. Without it photos use the full network and say so, and
# the set-up goes on.
$(HEAVY): | $(STAMP)
	$(BIN)/monopose fetch-models || echo "BlazePose Heavy not fetched: run $(BIN)/monopose fetch-models later"

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install torch==2.13.0 -e ".[dev,render]"
	touch $(DEV_STAMP)

setup: $(STAMP) $(HEAVY)

setup-dev: $(DEV_STAMP) $(HEAVY)

demo: $(STAMP) $(HEAVY)
	$(BIN)/monopose demo --out monopose-demo

test: $(DEV_STAMP) $(HEAVY)
	$(BIN)/ruff check monopose tests benchmarks
	$(BIN)/mypy monopose
	$(BIN)/pytest -q

test-all: $(DEV_STAMP) $(HEAVY)
	$(BIN)/pytest -q -m ""

clean:
	rm -rf $(VENV)
