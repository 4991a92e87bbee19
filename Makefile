# Utility HAN Test Tool — set-up, serve, test.
# `make run` and `make test` are all a fresh machine with Python 3.11 and make needs.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
BIN := $(VENV)/bin
# The radio libraries (the `radios` extra) in an environment of their own: the main one runs
# without them, as a gateway with simulated radios only does.
RADIOS_VENV := .venv-radios
HOST ?= 127.0.0.1
PORT ?= 8000

# Prefer a uv already on PATH; otherwise install the pinned one into .tools.
UV := $(shell command -v uv 2>/dev/null || echo $(TOOLS)/bin/uv)

.PHONY: run test test-unit test-e2e test-radios lint format install browser migrate demo bench clean

$(TOOLS)/bin/uv:
	$(PYTHON) -m venv $(TOOLS) || { $(PYTHON) -m pip install --user virtualenv && $(PYTHON) -m virtualenv $(TOOLS); }
	$(TOOLS)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(BIN)/python: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $(BIN)/python

install: $(BIN)/python

migrate: install
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py load_demo_data
	# A few months of history, so the history, dashboard and reviews have something to show.
	$(BIN)/python manage.py generate_history_data --premises 400 --runs 1500 --days 90 --reps 12 --unless-present

run: demo
	$(BIN)/python manage.py serve --host $(HOST) --port $(PORT) --with-demo-gateways

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

browser:
	@bash scripts/ensure-chromium

test-unit: install
	$(BIN)/pytest

# Browser tests run as their own pytest invocation: sync Playwright and asyncio tests do not mix.
test-e2e: install browser
	$(BIN)/pytest -m e2e tests/e2e

$(RADIOS_VENV)/bin/python: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(RADIOS_VENV) $(UV) sync --frozen --extra radios --python $(PYTHON)
	@touch $(RADIOS_VENV)/bin/python

# The real radio libraries, unmodified, against emulated coordinators over TCP: the gateway
# service's tests and the diagnosis corpus through each.
test-radios: $(RADIOS_VENV)/bin/python
	$(RADIOS_VENV)/bin/pytest tests/han_gateway/test_znp_emulator.py tests/han_gateway/test_ezsp_emulator.py \
	  tests/han_gateway/test_emulated_radios.py tests/han_gateway/test_service_on_radios.py \
	  tests/portal/diagnosis/test_corpus_on_radios.py

test: lint test-unit test-radios test-e2e

bench: install
	$(BIN)/python bench/bench_scan.py

clean:
	rm -rf $(VENV) $(RADIOS_VENV) $(TOOLS) var test-artifacts .pytest_cache .mypy_cache .ruff_cache
