# Geitonia — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin
export GEITONIA_HOME ?= $(CURDIR)/var
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_HOME := $(GEITONIA_HOME)/dagster
DEMO_SCALE ?= municipal
DEMO_SEED ?= 20260101

.PHONY: env demo generate test test-fast lint bench clean dbt-parse dagster publish

## env: create the virtual environment from the lock file (uv, installed if missing)
env: $(VENV)/.synced

$(VENV)/.synced: pyproject.toml uv.lock
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet "uv==$(UV_VERSION)"
	$(PYTHON) -m uv sync --frozen --python $(PYTHON)
	@touch $@

## demo: generate the demo municipality and run the pipeline (ingest, dbt build, publish)
demo: env
	$(BIN)/geitonia init
	$(BIN)/geitonia generate --scale $(DEMO_SCALE) --seed $(DEMO_SEED) --out "$(GEITONIA_HOME)/demo"
	@mkdir -p "$(GEITONIA_HOME)/landing"
	cp -R "$(GEITONIA_HOME)/demo/exports/." "$(GEITONIA_HOME)/landing/"
	$(BIN)/geitonia ingest "$(GEITONIA_HOME)/landing"
	$(BIN)/geitonia build

## publish: copy the published marts into a new snapshot under $(GEITONIA_HOME)/snapshots
publish: env
	$(BIN)/geitonia publish

## dbt-parse: the manifest Dagster loads (dbt_project/target/manifest.json)
dbt-parse: env
	$(BIN)/dbt parse --project-dir dbt_project --profiles-dir dbt_project --quiet

## docs: the dbt documentation site on http://127.0.0.1:$(DOCS_PORT) (built in $(GEITONIA_HOME)/dbt/docs)
DOCS_PORT ?= 8080
DBT_DOCS := --project-dir dbt_project --profiles-dir dbt_project --target-path "$(GEITONIA_HOME)/dbt/docs" --log-path "$(GEITONIA_HOME)/dbt/logs"
.PHONY: docs
docs: env
	@mkdir -p "$(GEITONIA_HOME)/warehouse"
	$(BIN)/dbt docs generate $(DBT_DOCS)
	$(BIN)/dbt docs serve $(DBT_DOCS) --host 127.0.0.1 --port $(DOCS_PORT) --no-browser

## dagster: the Dagster UI on http://127.0.0.1:3000; the sensor watches $(GEITONIA_HOME)/landing
dagster: env dbt-parse
	$(BIN)/geitonia init
	@mkdir -p "$(DAGSTER_HOME)" "$(GEITONIA_HOME)/landing"
	@test -f "$(DAGSTER_HOME)/dagster.yaml" || cp orchestration/dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"
	$(BIN)/dagster dev -m orchestration.definitions -h 127.0.0.1 -p 3000

## test: the whole test suite (unit, generator, pipeline, dbt, Dagster)
test: env dbt-parse
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: env
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: env
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## bench: benchmarks (report figures, never pass/fail on time); bench_scale: W1-W4, ratios and
## the scaling curve (hours at full scale; e.g. `make bench BENCH_SCALE_ARGS=--quick`)
BENCH_SCALE_ARGS ?=
bench: env
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_ingest.py
	$(BIN)/python benchmarks/bench_dbt.py --scale municipal
	$(BIN)/python benchmarks/bench_scale.py $(BENCH_SCALE_ARGS)

clean:
	rm -rf "$(GEITONIA_HOME)" $(VENV) .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
