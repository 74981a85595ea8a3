"""The DuckDB CLI from PyPI (the `duckdb-cli` package, an older DuckDB than the pipeline's)
opens the serving file and runs every example of docs/bi.md, and so does `views.sql` read
from another working directory."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.publish.serving import SERVING_FILE
from tests.pipeline.publish.doc_queries import examples
from tests.pipeline.publish.publish_helpers import publish_db


def duckdb_cli() -> str:
    """The `duckdb` executable of the dev extra's duckdb-cli, beside this Python."""
    beside = Path(sys.executable).parent / "duckdb"
    found = str(beside) if beside.exists() else shutil.which("duckdb")
    assert found, "the DuckDB CLI is missing: pip install -e '.[dev]' installs duckdb-cli"
    return found


def run_cli(arguments: list[str], cwd: Path) -> str:
    done = subprocess.run(
        [duckdb_cli(), *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0 and "Error" not in done.stderr, done.stderr
    return done.stdout


def data_rows(csv_output: str) -> int:
    """Rows of the last result in `-csv` output (minus its header line)."""
    return len(csv_output.strip().splitlines()) - 1


@pytest.fixture(scope="module")
def published(tmp_path_factory, demo_db) -> Path:
    root = tmp_path_factory.mktemp("cli") / "exports"
    publish_db(demo_db, root)
    return root


def test_the_cli_package_is_older_than_the_writer():
    import duckdb

    version = run_cli(["-csv", "-noheader", ":memory:", "-c", "select version()"], Path.cwd())
    assert version.strip() != f"v{duckdb.__version__}", "compatibility needs an older reader"


@pytest.mark.parametrize("number", range(len(examples("duckdb"))))
def test_cli_runs_each_guide_example_on_the_serving_file(published, tmp_path, number):
    query = examples("duckdb")[number]
    out = run_cli(["-readonly", "-csv", str(published / SERVING_FILE), "-c", query], tmp_path)
    assert data_rows(out) > 0, query


@pytest.mark.parametrize("number", range(len(examples("duckdb"))))
def test_cli_runs_each_guide_example_over_views_sql_from_elsewhere(published, tmp_path, number):
    """views.sql by absolute path from an unrelated folder: the Parquet paths still resolve."""
    query = examples("duckdb")[number]
    views = (published / "current" / "views.sql").resolve()
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    out = run_cli(["-csv", ":memory:", "-c", f".read {views}", "-c", query], elsewhere)
    assert data_rows(out) > 0, query
