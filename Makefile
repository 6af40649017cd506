# itdd — quick start: `make demo`, `make test`. Both create .venv from a clean clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench serve clean soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/itdd demo

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP_DEV)
	$(BIN)/mypy src

unit: $(STAMP_DEV)
	$(BIN)/pytest -n 2

test: lint typecheck unit

bench: $(STAMP_DEV)
	$(BIN)/python bench/run.py

# Every property test (-m property) for ITDD_SOAK_MINUTES (default 10) with fresh random seeds and
# many more examples than CI (ITDD_SOAK_EXAMPLES per test per round, default 1000); prints the
# examples generated per test and in total, and the seed of any failure (tests/soak.py).
soak: $(STAMP_DEV)
	$(BIN)/python tests/soak.py

serve: $(STAMP_RUN)
	$(BIN)/itdd serve

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis out
