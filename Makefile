# One entry point per task. `make serve` and `make test` work on a fresh machine
# with only Python 3.11+ and make: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: serve test lint typecheck check contract contract-time clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/mock-server $(ARGS)

# The contract suite alone, against the mock in-process or any target: make contract ARGS="--base-url ..."
contract: $(STAMP)
	$(BIN)/contract-tests $(ARGS)

# Wall time of the contract suite's ci profile against the in-process mock (budget 60 s).
contract-time: $(STAMP)
	$(BIN)/python scripts/time_contract_suite.py --runs 3

lint: $(STAMP)
	$(BIN)/ruff check mock_server contract_tests tests
	$(BIN)/ruff format --check mock_server contract_tests

typecheck: $(STAMP)
	$(BIN)/mypy mock_server contract_tests

test: lint typecheck
	$(BIN)/python -m pytest $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
