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

.PHONY: run test test-embedded test-fast lint typecheck check bench bench-api bench-fanout clean-data

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is required")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/autovideo serve

# The whole suite: lint and types first (seconds), then the tests, then the security and
# end-to-end tests again on the embedded PostgreSQL and Redis 6.2 (what `make run` uses).
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app.py graphql_runtime schema resolvers domain jobs persistence providers media runtime
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q
	$(MAKE) --no-print-directory test-embedded

# The machine's servers and AUTOVIDEO_TEST_*_URL are ignored: each test worker starts its own.
test-embedded: $(STAMP)
	env -u AUTOVIDEO_TEST_DATABASE_URL -u AUTOVIDEO_TEST_REDIS_URL AUTOVIDEO_TEST_EMBEDDED=1 \
		$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m "(e2e or security) and not own_services and not first_pass_only"

test-fast: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy app.py graphql_runtime schema resolvers domain jobs persistence providers media runtime

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
