# Two commands on a fresh machine: `make run` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean mutate

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml examples/sma_strategy/pyproject.toml examples/atr_trailing/pyproject.toml examples/notify_webhook/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]' -e examples/sma_strategy -e examples/atr_trailing -e examples/notify_webhook
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hostapp run

# The Redis store's tests run against a real redis-server (scripts/ensure_redis.sh).
test: $(STAMP)
	@./scripts/ensure_redis.sh
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Mutation testing of the DTMS engine against its unit tests (scripts/mutate_engine.py):
# per-file scores and the surviving mutants; fails below 90 % on the files CI checks.
MUTATE_FILES ?= machine.py deadlines.py evaluation.py positions.py planning.py volumes.py score.py rails.py indicators.py tolerance.py
mutate: $(STAMP)
	$(BIN)/python scripts/mutate_engine.py --jobs 2 --min-score 90 --survivors $(MUTATE_FILES)

# The scripts named by make, not the shell, so `make -n bench` lists them
# (tests/test_bench_scripts.py; each also runs there with --quick).
BENCHES := $(sort $(wildcard bench/*.py))

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	@for f in $(BENCHES); do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .hostapp
