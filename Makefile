# The two commands a new user runs: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint setup clean ui worker

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m pipeline demo

# The Dagster UI with every asset, check, schedule and sensor, on the instance the CLI writes
# to (DAGSTER_HOME, default dagster_home/), so it shows the demo's runs: make ui PORT=3001
DAGSTER_HOME ?= $(CURDIR)/dagster_home
PORT ?= 3000
HOST ?= 127.0.0.1
ui: $(VENV)/.installed
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/dagster dev -w workspace.yaml -h $(HOST) -p $(PORT)

# One Celery worker of the distributed deployment (deploy/, docs/scaleout.md) on the given
# queues; DAGSTER_HOME (holding deploy/dagster.yaml) and DAGSTER_PG_URL must be set:
# make worker QUEUES=api,cpu
QUEUES ?= api,cpu
worker: $(VENV)/.installed
	deploy/worker $(QUEUES)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint --disable-progress-bar sql dbt_style_models

test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) data exports .pytest_cache .ruff_cache
