# Duban: `make run` runs the whole system, `make test` runs the tests.
# Both set up .venv (Python >= 3.11) on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint format migrate bench demo clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Duban needs Python >= 3.11" if sys.version_info < (3, 11) else 0)'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

## run: migrate, then api + notifier + ranker in the foreground (Ctrl-C stops all three).
## Uses DUBAN_DATABASE_URL / DUBAN_REDIS_URL when set, else local servers on the default
## ports, else an embedded PostgreSQL and Redis with their data under .data/.
run: $(STAMP)
	$(BIN)/duban run

## test: the whole suite on real PostgreSQL and Redis (each run in its own database).
test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## migrate: apply migrations to DUBAN_DATABASE_URL.
migrate: $(STAMP)
	$(BIN)/duban migrate

## bench: throughput and latency of api endpoints, as ratios to bare baselines of the same run.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache bench/results
