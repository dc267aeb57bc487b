# `make run` and `make test` work on a fresh clone: the first call builds .venv from
# pyproject.toml with the pinned versions in constraints.txt. (With the pip that comes with the venv:
# Python 3.11 ships pip 22.3 or newer, which installs this editable project; upgrading it first
# cost 12 s wall / 2.9 CPU-s on a fresh venv here.)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2
# Some shells (this machine's among them) set PYTHONDONTWRITEBYTECODE: every process the tests start
# (xdist workers, `autovideo serve`, workers) then compiles the project's modules again and pytest
# rewrites every test module's asserts again. The caches go to __pycache__ (ignored by git).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-embedded test-fast lint typecheck check bench bench-api bench-fanout clean-data \
	studio studio-build studio-test studio-dev browser

# The Studio (web/): built when its build is missing or older than its sources or the schema.
WEB_SOURCES := $(shell find web/src web/static web/scripts -type f -not -path 'web/src/lib/gql/*' 2>/dev/null) \
	web/package.json web/package-lock.json web/svelte.config.js web/vite.config.ts web/codegen.ts \
	$(shell find schema resolvers graphql_runtime -name '*.py' 2>/dev/null)
NO_NODE := Node.js (npm) not found: serving the API alone (install Node 20+ for the Studio at /)

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	@$(MAKE) --no-print-directory studio || echo "The Studio could not be built (see above): serving the API alone"
	$(BIN)/autovideo serve

# Builds the Studio when needed; without Node, one line and nothing else.
studio: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory web/build/index.html; \
	else echo "$(NO_NODE)"; fi

web/node_modules/.ci-stamp: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/build/index.html: web/node_modules/.ci-stamp $(WEB_SOURCES)
	cd web && AUTOVIDEO_PYTHON="$(abspath $(BIN))/python" npm run --silent build
	@touch $@

studio-build: $(STAMP)
	@rm -f web/build/index.html
	@$(MAKE) --no-print-directory web/build/index.html

# Type check (svelte-check) and unit tests (vitest) of the Studio.
studio-test: studio
	cd web && npm run --silent check && npm test --silent

# Vite's dev server on :5173 with hot reload, proxying the API of a running `make run`.
studio-dev: web/node_modules/.ci-stamp
	cd web && AUTOVIDEO_PYTHON="$(abspath $(BIN))/python" npm run --silent codegen && npm run dev

# The system Chromium the browser test drives (Playwright cannot download its own here).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get -o DPkg::Lock::Timeout=300 update -qq && \
		apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium >/dev/null)

# The whole suite: lint and types first (seconds), then the tests, then the security and
# end-to-end tests again on the embedded PostgreSQL and Redis 6.2 (what `make run` uses).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py graphql_runtime schema resolvers domain jobs persistence providers media runtime tests
	$(MAKE) --no-print-directory studio-test
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m "not browser"
	$(MAKE) --no-print-directory test-embedded

# The machine's servers and AUTOVIDEO_TEST_*_URL are ignored: each test worker starts its own.
# The Studio's browser test (marker `browser`, an `e2e` test) runs here only.
test-embedded: $(STAMP) studio browser
	env -u AUTOVIDEO_TEST_DATABASE_URL -u AUTOVIDEO_TEST_REDIS_URL AUTOVIDEO_TEST_EMBEDDED=1 \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m "(e2e or security) and not own_services and not first_pass_only"

test-fast: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy app.py graphql_runtime schema resolvers domain jobs persistence providers media runtime tests

check: test

bench: $(STAMP)
	bench/render --seconds 60

# The API against hand-written Starlette baselines (wrk, 64 connections; wrk is installed when missing).
bench-api: $(STAMP)
	bench/api --duration 10 --rounds 2

# 1,000 websocket clients following one user's events while a video renders.
bench-fanout: $(STAMP)
	bench/fanout --clients 1000 --events

clean-data:
	rm -rf data
