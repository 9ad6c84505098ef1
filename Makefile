# Huoban CRM — two commands on a fresh machine: `make run` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
HUOBAN  := $(BIN)/huoban
STAMP   := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run install browser test lint typecheck pytest e2e screenshots bench clean

$(STAMP): pyproject.toml requirements.lock package.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
	  else npm install --no-audit --no-fund --loglevel=error; fi
	touch $(STAMP)

install: $(STAMP)
	@if command -v msgfmt >/dev/null 2>&1; then cd src/huoban && ../../$(HUOBAN) compilemessages --ignore '.venv' -v 0 >/dev/null; fi

# Headless Chromium (+ CJK fonts) for the end-to-end tests and screenshots (Debian package; installed when missing and we are root).
browser:
	@if { [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ] || ! command -v msgfmt >/dev/null 2>&1; } && [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian chromium and CJK fonts for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk gettext >/dev/null) \
	    || echo "chromium could not be installed: browser tests will be skipped"; \
	fi

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

# Browser tests run in their own pytest process: they need a transactional database, whose flush
# would otherwise wipe migration-seeded rows (preset roles, default pipeline) for later tests.
pytest: install browser
	$(BIN)/python -m pytest -q -m "e2e or transactional"
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not e2e and not transactional"

test: lint typecheck pytest

e2e: install browser
	$(BIN)/python -m pytest -q -m "e2e or transactional"

screenshots: install browser
	$(BIN)/python -m huoban.platform.ui.screenshots

bench: install
	@ls benchmarks/*.py

clean:
	rm -rf $(VENV) node_modules var/static
