# Huoban CRM — two commands on a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
HUOBAN  := $(BIN)/huoban
STAMP   := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run install test lint typecheck pytest e2e screenshots bench clean

$(STAMP): pyproject.toml requirements.lock package.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
	  else npm install --no-audit --no-fund --loglevel=error; fi
	touch $(STAMP)

install: $(STAMP)

run: install
	$(HUOBAN) migrate --noinput
	$(HUOBAN) demo
	@echo "Huoban is starting on http://127.0.0.1:8000  (demo password: $${HUOBAN_DEMO_PASSWORD:-huoban-demo-2026})"
	$(HUOBAN) serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy src/huoban/platform

pytest: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test: lint typecheck pytest

e2e: install
	$(BIN)/python -m pytest -q -m e2e

screenshots: install
	$(BIN)/python -m huoban.platform.ui.screenshots

bench: install
	@ls benchmarks/*.py

clean:
	rm -rf $(VENV) node_modules var/static
