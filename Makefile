# Vigil — developer commands. `make run` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt typecheck bench chaos venv clean smoke build dist

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { echo "python3-venv is missing: sudo apt-get install -y python3-venv"; exit 1; }
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# The web UI (frontend/, TypeScript + Vite) is built into the package's static files; rebuilt only
# when its sources change. Needs Node.js 20.19+ (or 22.12+) and npm: scripts/ensure-node.sh finds
# one, or installs Node.js 22 under .tools/node when the machine's is missing or older.
WITH_NODE = PATH="$$(sh scripts/ensure-node.sh):$$PATH"
UI_SRC   := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html \
            frontend/package.json frontend/vite.config.ts frontend/tsconfig.json
UI_DEPS  := frontend/node_modules/.installed
UI_BUILT := src/vigil/web/static/index.html

$(UI_DEPS): frontend/package-lock.json
	$(WITH_NODE) && cd frontend && npm ci --no-audit --no-fund
	@touch $(UI_DEPS)

$(UI_BUILT): $(UI_DEPS) $(UI_SRC)
	$(WITH_NODE) && cd frontend && npm run build

## build: the web UI into src/vigil/web/static (only when frontend/ changed)
build: $(UI_BUILT)

## dist: a wheel in dist/ that ships the built web UI (pip users need no Node.js)
dist: $(STAMP) build
	rm -rf build/lib build/bdist.*  # stale copies of older hashed UI assets must not ship
	$(BIN)/python -m pip wheel --no-deps -w dist .

## run: one replica on SQLite at http://localhost:3000 (admin / admin)
run: $(STAMP) build
	$(BIN)/vigil server

## test: the whole suite (services missing locally are skipped loudly; under CI=true they fail)
test: $(STAMP) build
	$(BIN)/python -m pytest -q -ra $(PYTEST_ARGS)

lint: $(STAMP) $(UI_DEPS)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(WITH_NODE) && cd frontend && npm run typecheck

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

## bench: throughput, latency and memory against a bare Starlette floor measured in the same run
bench: $(STAMP)
	$(BIN)/python bench/run.py

## chaos: 3 replicas behind HAProxy under load while replicas, PostgreSQL and Redis fail; report in
## bench/results/chaos.md (the short form runs in `make test`: tests/test_chaos_short.py)
chaos: $(STAMP)
	$(BIN)/python bench/chaos.py $(CHAOS_ARGS)

smoke: $(STAMP)
	$(BIN)/python ../shared/checks/contract_smoke.py $(BIN)/vigil

clean:
	rm -rf $(VENV) data .tools .pytest_cache .mypy_cache .ruff_cache
