# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
PG_VERSION = $(shell ls /etc/postgresql 2>/dev/null | head -n 1)

.PHONY: run test install lint typecheck unit services bench openapi clean

run: $(RUNTIME_STAMP)
	$(BIN)/aetherflow-gateway migrate
	$(BIN)/aetherflow-gateway serve --host 127.0.0.1 --port 8000

test: $(DEV_STAMP) services lint typecheck unit

install: $(DEV_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(RUNTIME_STAMP)

# PostgreSQL must be up for the tests; start the machine's cluster when it is not.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
		pg_ctlcluster --skip-systemctl-redirect $(PG_VERSION) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do \
		pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
		echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1
	@# Redis, for the tests of login throttling shared between replicas.
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || \
		redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
			--save "" --appendonly no
	@for i in 1 2 3 4 5 6 7 8 9 10; do \
		redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && exit 0; sleep 1; done; \
		echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP) services
	$(BIN)/pytest

bench: $(DEV_STAMP)
	$(BIN)/python bench/upload.py

# The OpenAPI document in docs/, for readers of the repository and the dashboard's
# developers; tests/test_openapi.py fails when it is not current.
openapi: $(RUNTIME_STAMP)
	$(BIN)/aetherflow-gateway openapi > docs/openapi.json

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
