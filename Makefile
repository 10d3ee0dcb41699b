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

test: lint typecheck chromium
	$(BIN)/python -m pytest $(ARGS)

# The browser tests drive Debian's chromium (Playwright's Python package is
# launched on it; no browser download). Installed with apt-get when missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
.PHONY: chromium screenshots
chromium:
	@[ -x $(CHROMIUM) ] || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Retake docs/checkout.png and docs/dashboard.png.
screenshots: $(STAMP) chromium
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -k screenshot $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# `make bench`: the mock beside Stoplight Prism and a bare Starlette app under wrk (minutes,
# not part of `make test`). Installs Debian's wrk when missing and Prism into benchmarks/.tools.
PRISM_VERSION := 5.16.0
BENCH_TOOLS := benchmarks/.tools
PRISM_STAMP := $(BENCH_TOOLS)/.prism-$(PRISM_VERSION)

.PHONY: bench

$(PRISM_STAMP):
	npm install --prefix $(BENCH_TOOLS) --no-audit --no-fund --loglevel=error @stoplight/prism-cli@$(PRISM_VERSION)
	touch $(PRISM_STAMP)

bench: $(STAMP) $(PRISM_STAMP)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	$(BIN)/python benchmarks/bench.py $(ARGS)
