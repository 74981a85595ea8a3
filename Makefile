# The two commands a new user runs: `make demo` and `make test`. Both set up .venv first.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: demo test lint setup clean ui

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

demo: $(VENV)/.installed
	$(PY) -m pipeline demo

# The Dagster UI with every asset, check, schedule and sensor; the instance in dagster_home/
# limits the duckdb_writer pool to 1.
ui: $(VENV)/.installed
	DAGSTER_HOME=$(CURDIR)/dagster_home $(VENV)/bin/dagster dev -w workspace.yaml

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint --disable-progress-bar sql dbt_style_models

test: lint
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) data exports .pytest_cache .ruff_cache
