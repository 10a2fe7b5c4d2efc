# gmgclim: two commands do all the set-up on a fresh machine.
#   make demo   create .venv, install, train on the bundled ERA5 sample, forecast, score, plot
#   make test   create .venv, install, run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.gmgclim-installed
# torch is pinned first so that the CPU build on disk is used; the project itself asks torch>=2.4.
TORCH_SPEC ?= torch==2.13.0
DEMO_DIR ?= runs/quickstart
PYTEST_ARGS ?=

.PHONY: venv test test-slow demo lint bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check gmgclim tests benchmarks
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gmgclim tests benchmarks
	$(BIN)/ruff format --check gmgclim tests benchmarks
	$(BIN)/mypy gmgclim

demo: $(STAMP)
	$(BIN)/python -m gmgclim demo --run-dir $(DEMO_DIR)

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_model.py

clean:
	rm -rf $(VENV) runs
