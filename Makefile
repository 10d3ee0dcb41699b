# One entry point per task. `make serve` and `make test` work on a fresh machine
# with only Python 3.11+ and make: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
# What is installed in .venv, one stamp per level, each level including the one before:
# the package alone (what serving needs), with the contract extra (contract-tests, and
# --proxy, which judges answers with the suite's checks), with the dev extra (tests, linters,
# the browser driver). `make serve` installs the first, `make test` upgrades the same .venv.
RUNTIME := $(VENV)/.installed-runtime
CONTRACT := $(VENV)/.installed-contract
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help serve test lint typecheck check contract contract-time clean

# Every target with a `## description` on its line, in the order of this file.
help: ## list the targets (the default)
	@echo "make <target> [ARGS=...]"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-14s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(CONTRACT): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[contract]'
	touch $@ $(RUNTIME)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(CONTRACT) $(RUNTIME)

# --proxy (in ARGS or MOCK_SERVER_PROXY) needs the contract extra; serving alone, the package.
SERVE_NEEDS := $(if $(or $(findstring --proxy,$(ARGS)),$(MOCK_SERVER_PROXY)),$(CONTRACT),$(RUNTIME))

serve: $(SERVE_NEEDS) ## run the mock on http://127.0.0.1:8080 (flags in ARGS, e.g. ARGS="--port 9000")
	$(BIN)/mock-server $(ARGS)

# The contract suite alone, against the mock in-process or any target: make contract ARGS="--base-url ..."
# In-process, Prefer makes every documented status reachable, so the run requires them all (--require-coverage).
contract: $(CONTRACT) ## the contract suite alone, in-process or against ARGS="--base-url ..."
	$(BIN)/contract-tests $(if $(findstring --base-url,$(ARGS)),,--require-coverage) $(ARGS)

# Wall time of the contract suite's ci profile against the in-process mock (budget 60 s).
contract-time: $(STAMP) ## wall time of the contract suite's ci profile (budget 60 s)
	$(BIN)/python scripts/time_contract_suite.py --runs 3 -- --require-coverage

lint: $(STAMP) ## ruff check and ruff format --check
	$(BIN)/ruff check mock_server contract_tests billing_contract tests scripts benchmarks
	$(BIN)/ruff format --check mock_server contract_tests billing_contract scripts benchmarks

typecheck: $(STAMP) ## mypy on mock_server, contract_tests, billing_contract and benchmarks/heldout
	$(BIN)/mypy mock_server contract_tests billing_contract benchmarks/heldout

check: lint typecheck ## lint and typecheck, no tests

test: lint typecheck chromium redis openssl wheelhouse ## lint, typecheck, then every test (pytest ARGS)
	$(BIN)/python -m pytest $(ARGS)

# tests/test_wheel.py builds the wheel and installs it into fresh virtualenvs, offline, from these.
WHEELS := $(VENV)/wheels
.PHONY: wheelhouse
wheelhouse: $(WHEELS)/.built ## wheels of the dependencies in .venv/wheels, for the installed-wheel test

$(WHEELS)/.built: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --wheel-dir $(WHEELS) '.[contract]'
	rm -f $(WHEELS)/org_billing_mock-*.whl
	touch $@

# The Redis state tests start Debian's redis-server on a free port (tests/redis_server.py);
# installed with apt-get when missing. Without it those tests fail, naming this target.
REDIS_SERVER ?= /usr/bin/redis-server
.PHONY: redis
redis: ## install Debian's redis-server for the Redis state tests when missing
	@[ -x $(REDIS_SERVER) ] || { \
		echo "Installing Debian's redis-server for the Redis state tests..."; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The proxy's TLS test makes a certificate with Debian's openssl; installed with apt-get when missing.
.PHONY: openssl
openssl: ## install Debian's openssl for the proxy's TLS test when missing
	@command -v openssl >/dev/null || { \
		echo "Installing Debian's openssl for the proxy's TLS test..."; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; }

# The browser tests drive Debian's chromium (Playwright's Python package is
# launched on it; no browser download). Installed with apt-get when missing.
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
.PHONY: chromium screenshots
chromium: ## install Debian's chromium for the browser tests when missing
	@[ -x $(CHROMIUM) ] || { \
		echo "Installing Debian's chromium for the browser tests..."; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Retake docs/checkout.png and docs/dashboard.png.
screenshots: $(STAMP) chromium ## retake docs/checkout.png and docs/dashboard.png
	UPDATE_SCREENSHOTS=1 $(BIN)/python -m pytest tests/e2e -k screenshot $(ARGS)

clean: ## remove .venv and the tools' caches
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

bench: $(STAMP) $(PRISM_STAMP) redis ## the mock beside Prism and a bare Starlette app under wrk (minutes)
	@command -v wrk >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk; }
	$(BIN)/python benchmarks/bench.py $(ARGS)

.PHONY: bench-sandboxes
bench-sandboxes: $(STAMP) ## what a sandbox costs: creation latency, RSS of 10,000 with a paid checkout each (a minute)
	$(BIN)/python benchmarks/sandboxes.py $(ARGS)

.PHONY: bench-steps
bench-steps: $(STAMP) ## microseconds per request in each step of the pipeline, in-process (seconds)
	$(BIN)/python benchmarks/steps.py $(ARGS)

.PHONY: fuzz soak
fuzz: $(STAMP) ## hostile raw requests, Schemathesis, and a hostile deployment behind --proxy: 5xx, hangs, RSS (minutes)
	$(BIN)/python scripts/fuzz.py $(ARGS)

soak: $(STAMP) ## 200,000 requests (100,000 checkout sessions) at one mock: its RSS must stay flat (minutes)
	$(BIN)/python scripts/soak.py $(ARGS)

# `make heldout`: the contract suite against benchmarks/heldout/app.py, a deployment written apart from the
# suite, correct, with each of its faults and as each correct variant, under three seeds (minutes; not in make test).
.PHONY: heldout
heldout: $(STAMP) ## the contract suite on a held-out deployment: its faults caught, its variants passed (minutes)
	$(BIN)/python -m benchmarks.heldout.measure $(ARGS)
