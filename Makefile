# Duban: `make run` runs the whole system, `make test` runs the tests.
# Both set up .venv (Python >= 3.11) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements-dev.lock | cksum | cut -d' ' -f1)

.PHONY: run test lint typecheck format migrate bench bench-smoke messages reliability lock clean

# Installs exactly what requirements-dev.lock names (versions and hashes), then the project itself.
$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit("Duban needs Python >= 3.11" if sys.version_info < (3, 11) else 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

## run: migrate, then api + notifier + ranker in the foreground (Ctrl-C stops all three).
## Uses DUBAN_DATABASE_URL / DUBAN_REDIS_URL when set, else local servers on the default
## ports, else an embedded PostgreSQL and Redis with their data under .data/.
run: $(STAMP)
	@deploy/system-packages.sh
	$(BIN)/duban run

## test: the whole suite on real PostgreSQL and Redis (each run in its own database): two
## processes for all but the fault tests, then the fault tests alone (they stop, flush and crowd
## the servers every test shares).
test: $(STAMP)
	@deploy/system-packages.sh --browser
	$(BIN)/pytest -n 2
	$(BIN)/pytest tests/faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## typecheck: mypy over shared/ (strict) and services/, with the pydantic plugin (also part of lint).
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## migrate: apply migrations to DUBAN_DATABASE_URL.
migrate: $(STAMP)
	$(BIN)/duban migrate

## bench: throughput and latency of api endpoints, as ratios to bare baselines of the same run.
bench: $(STAMP)
	$(BIN)/python -m bench

## bench-smoke: every bench case at tiny sizes, a second each (CI runs it, so no case rots); its
## numbers mean nothing.
SMOKE := BENCH_SECONDS=1 BENCH_ROUNDS=1 BENCH_CONNECTIONS=4 BENCH_PROJECTS=300 BENCH_IMPORT_ROWS=50 \
	BENCH_DUES_PROJECTS=200 BENCH_SWEEP_PROJECTS=300 BENCH_SWEEP_HISTORY=1000 BENCH_LATENCY_EVENTS=6 BENCH_BACKLOG=60 \
	BENCH_RANK_PROJECTS=20 BENCH_RANK_INSPECTORS=6 \
	BENCH_BULLETIN_PROJECTS=200 BENCH_OVERVIEW_PROJECTS=300 BENCH_BULLETIN_REQUESTS=3
bench-smoke: $(STAMP)
	$(SMOKE) $(BIN)/python -m bench

## reliability: run the fault and abuse suites and rewrite the README's Reliability figures.
reliability: $(STAMP)
	$(BIN)/python -m tests.reliability

## messages: bring the Chinese catalog (shared/locale) up to date with the messages in the code;
## then translate what it reports untranslated (tests/shared/test_i18n.py fails until then).
messages: $(STAMP)
	$(BIN)/python -m services.api.catalog

## lock: refresh requirements.lock (what the image installs) and requirements-dev.lock (make run,
## make test, CI) from pyproject.toml's ranges, with hashes, for every platform.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --generate-hashes --python-version 3.11 \
		--custom-compile-command "make lock" --upgrade -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --generate-hashes --python-version 3.11 \
		--custom-compile-command "make lock" --upgrade -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/results
