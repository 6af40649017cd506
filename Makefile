# itdd — quick start: `make demo`, `make test`. Both create .venv from a clean clone.
#   demo   installs the core package only (simulator, programmer, cohorts, reports)
#   serve  adds the clinic extra (web app)
#   test   installs the dev extra (clinic + postgres + test tools) pinned by constraints.txt
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_CLINIC := $(VENV)/.installed-clinic
STAMP_DEV := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit bench serve soak constraints install-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(STAMP_CLINIC): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[clinic]'
	touch $@ $(STAMP_RUN)

$(STAMP_DEV): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $@ $(STAMP_CLINIC) $(STAMP_RUN)

demo: $(STAMP_RUN)
	$(BIN)/itdd demo

lint: $(STAMP_DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports

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

serve: $(STAMP_CLINIC)
	$(BIN)/itdd serve

# Re-pin constraints.txt to the versions installed in .venv (run after the suite passed; commit it).
constraints: $(STAMP_DEV)
	{ echo "# The versions the test suite passed with: make test and CI install with -c constraints.txt."; \
	  echo "# Regenerate with 'make constraints' after the suite passes (Python $$($(BIN)/python -c 'import platform; print(platform.python_version())'))."; \
	  $(BIN)/pip freeze --all --exclude-editable | grep -v -i -E '^(itdd|pip)[= @]'; } > constraints.txt

# Build the wheel and install it, not editable, into a fresh venv, as a user would (needs PyPI).
install-check:
	PYTHON=$(PYTHON) .ci/install-check

clean:
	rm -rf $(VENV) build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis out
