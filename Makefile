# Fractal Trader — the two set-up commands are `make run` and `make test`.
# Both create .venv from uv.lock when it is missing or stale (uv is installed with pip if absent).
PYTHON ?= python3.11
UV_VERSION := 0.13.8
VENV := .venv
# --compile-bytecode: the packages' .pyc files are written once, at install. Without them every
# process compiles what it imports from source whenever PYTHONDONTWRITEBYTECODE is set (as for
# the tests below, and on some hosts globally): ~6 s of CPU to import ray, pandas, plotly, numba,
# ccxt and mlflow instead of ~2 s — in every Ray worker, CLI run and test subprocess.
# two stamps: `make run` syncs the runtime packages only, `make test`/`lint` add the dev extra
# (test tools, reference packages); each sync removes the other's stamp, so switching re-syncs
# (the Makefile is a prerequisite too: a changed sync command, e.g. a new flag, applies at once)
STAMP := $(VENV)/.synced
RUN_STAMP := $(VENV)/.synced-run
export FRACTAL_DATA_DIR ?= $(CURDIR)/data
TEST_TMP ?= $(or $(TMPDIR),/tmp)/fractal-test
# numba's compiled code: <base>/<digest of strategies/ + research/backtest/ sources>
# (cluster/numba_cache.py applies the digest). `make run` and `.venv/bin/fractal` share the base
# $XDG_CACHE_HOME/fractal-trader/numba (or $NUMBA_CACHE_DIR when set); the tests keep their own.
TEST_NUMBA_BASE ?= $(TEST_TMP)/numba-cache

# `make test` skips tests marked slow (extra-large differential runs); `make test-all` runs them too
PYTEST_MARK ?= not slow

.PHONY: run test test-all test-causality lint format bench clean-venv

define ensure_uv
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
endef

$(STAMP): uv.lock pyproject.toml Makefile
	$(ensure_uv)
	$(PYTHON) -m uv sync --locked --compile-bytecode --extra dev --python $(PYTHON)
	@rm -f $(RUN_STAMP)
	@touch $@

$(RUN_STAMP): uv.lock pyproject.toml Makefile
	$(ensure_uv)
	$(PYTHON) -m uv sync --locked --compile-bytecode --python $(PYTHON)
	@rm -f $(STAMP)
	@touch $@

run: $(RUN_STAMP)
	$(VENV)/bin/fractal run

lint: $(STAMP)
	$(VENV)/bin/ruff check --no-cache actors strategies research cluster tests
	$(VENV)/bin/ruff format --no-cache --check actors strategies research cluster tests
	$(VENV)/bin/lint-imports --no-logo --cache-dir $(TEST_TMP)/import-linter
	$(VENV)/bin/mypy --cache-dir $(TEST_TMP)/mypy strategies research actors cluster

format: $(STAMP)
	$(VENV)/bin/ruff check --no-cache --fix actors strategies research cluster tests
	$(VENV)/bin/ruff format --no-cache actors strategies research cluster tests

test: lint
	@mkdir -p $(TEST_TMP)
	@echo "numba cache: $$(env -u NUMBA_BOUNDSCHECK $(VENV)/bin/python -m cluster.numba_cache $(TEST_NUMBA_BASE))"
	@# prefix (causality) tests: fresh copies of each prefix, every numba index bounds-checked
	@# (NUMBA_BOUNDSCHECK is read at compile time, so they get their own <digest>-boundscheck cache).
	@# They need neither coverage nor Ray and are mostly numba compiling on one core, so they run
	@# as their own pytest session beside the warm-up and the main run (output in
	@# $(TEST_TMP)/causality.log, shown after the main run); both must pass. Its own --basetemp:
	@# pytest prunes old numbered temp dirs under one shared root, which is unsafe between sessions.
	@# compile the numba kernels into the cache first: under coverage's tracer it is ~2.5x slower
	@rm -f $(TEST_TMP)/causality.log; \
	( NUMBA_CACHE_DIR=$(TEST_NUMBA_BASE) NUMBA_BOUNDSCHECK=1 PYTHONDONTWRITEBYTECODE=1 \
	  $(VENV)/bin/pytest -p no:cacheprovider --basetemp=$(TEST_TMP)/causality-tmp \
	  -m "($(PYTEST_MARK)) and causality" $(PYTEST_ARGS) >$(TEST_TMP)/causality.log 2>&1 ) & prefix_pid=$$!; \
	set -x; \
	env -u NUMBA_BOUNDSCHECK NUMBA_CACHE_DIR=$(TEST_NUMBA_BASE) PYTHONDONTWRITEBYTECODE=1 \
	  $(VENV)/bin/python tests/warm_jit.py && \
	env -u NUMBA_BOUNDSCHECK NUMBA_CACHE_DIR=$(TEST_NUMBA_BASE) COVERAGE_FILE=$(TEST_TMP)/.coverage \
	  PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/pytest -p no:cacheprovider --cov \
	  --cov-report=term:skip-covered --cov-report=xml:$(TEST_TMP)/coverage.xml \
	  --durations=25 -m "($(PYTEST_MARK)) and not causality" $(PYTEST_ARGS); \
	{ main=$$?; set +x; } 2>/dev/null; \
	echo "prefix (causality) tests, NUMBA_BOUNDSCHECK=1 (run beside the above):"; \
	wait $$prefix_pid; prefix=$$?; cat $(TEST_TMP)/causality.log; \
	test $$main -eq 0 && test $$prefix -eq 0
	@echo "branch coverage of the strategy modules (strategies/*.py; numba kernels in strategies/smc/ are invisible to coverage.py):"
	COVERAGE_FILE=$(TEST_TMP)/.coverage $(VENV)/bin/coverage report --include="strategies/*.py" \
	  --omit="strategies/smc/*" --fail-under=90

test-all:
	$(MAKE) test PYTEST_MARK="slow or not slow"

test-causality: $(STAMP)
	NUMBA_CACHE_DIR=$(TEST_NUMBA_BASE) NUMBA_BOUNDSCHECK=1 PYTHONDONTWRITEBYTECODE=1 \
	  $(VENV)/bin/pytest -p no:cacheprovider -m "causality" $(PYTEST_ARGS)

bench: $(STAMP)
	@for f in tests/bench/bench_*.py; do echo "== $$f"; $(VENV)/bin/python $$f || exit 1; done

clean-venv:
	rm -rf $(VENV)
