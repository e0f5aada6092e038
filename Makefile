# Vigil — developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt typecheck bench venv clean smoke

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "python3-venv is missing: sudo apt-get install -y python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

## run: one replica on SQLite at http://localhost:3000 (admin / admin)
run: $(STAMP)
	$(BIN)/vigil server

## test: the whole suite (services missing locally are skipped loudly; under CI=true they fail)
test: $(STAMP)
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: throughput, latency and memory against a bare Starlette floor measured in the same run
bench: $(STAMP)
	$(BIN)/python bench/run.py

smoke: $(STAMP)
	$(BIN)/python ../shared/checks/contract_smoke.py $(BIN)/vigil

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
