"""The lake examples of docs/bi.md ("The shared lake"), run as the guide shows them, from a
project folder holding a demo's data/ (its lake) and exports/: the Python block, every
`-- Lake only` SQL block, and the guide's metric queries on the lake (`use lake`), through
DuckDB 1.5.5 with the packaged extensions (what `install ducklake; install sqlite;` would
fetch)."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import duckdb
import pytest

from pipeline.lake import LakeSettings, current_snapshot
from pipeline.lake.extensions import load_extensions
from tests.pipeline.publish.doc_queries import GUIDE, examples
from tests.pipeline.publish.publish_helpers import demo_warehouse

SECTION = re.compile(r"^## The shared lake.*?(?=^## )", re.DOTALL | re.MULTILINE)
PYTHON = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A folder laid out as the project after `make demo`: data/ (the lake beside the shared
    file) and exports/, those of the session's demo run."""
    built = demo_warehouse(tmp_path_factory).parent / "building"
    folder = tmp_path_factory.mktemp("project")
    (folder / "data").symlink_to(built, target_is_directory=True)
    (folder / "exports").symlink_to(built / "exports", target_is_directory=True)
    return folder


@pytest.fixture
def in_project(project, monkeypatch) -> Path:
    monkeypatch.chdir(project)
    return project


def test_the_lake_section_has_its_examples():
    section = SECTION.search(GUIDE.read_text()).group(0)
    assert len(PYTHON.findall(section)) >= 1
    assert len(LAKE_ONLY) >= 2 and METRICS


def test_the_python_example_reads_the_lake_pinned(in_project):
    section = SECTION.search(GUIDE.read_text()).group(0)
    [code] = PYTHON.findall(section)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code, "docs/bi.md", "exec"), {})  # the guide's own example
    snapshot_id, table = printed.getvalue().split("\n", 1)
    assert int(snapshot_id) >= 1
    assert "account_label" in table and "projects" in table


LAKE_ONLY = [e for e in examples("lake") if e.startswith("-- Lake only")]
# The metric queries of the guide, on the lake after `use lake` (meta.release is an export's)
METRICS = [e for e in examples("lake") if e not in LAKE_ONLY and "meta.release" not in e]


def run_script(con: duckdb.DuckDBPyConnection, script: str) -> list[list[tuple]]:
    """Each statement of an example, in order; the rows each returned."""
    results = []
    for statement in script.split(";\n"):
        body = "\n".join(line for line in statement.splitlines() if not line.startswith("--"))
        if body.strip():
            results.append(con.execute(body).fetchall())
    return results


def lake_session() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    # what `install ducklake; install sqlite;` would have fetched
    load_extensions(con, LakeSettings.embedded(Path("data")).extensions())
    return con


@pytest.mark.parametrize("number", range(len(LAKE_ONLY)))
def test_each_lake_sql_example_runs(in_project, number):
    results = run_script(lake_session(), LAKE_ONLY[number])
    assert results and results[-1], "the example's last query returned no rows"


@pytest.mark.parametrize("number", range(len(METRICS)))
def test_each_metric_example_runs_on_the_lake(in_project, number):
    con = lake_session()
    con.execute("attach 'ducklake:sqlite:data/lake.sqlite' as lake (read_only)")
    con.execute("use lake")
    assert run_script(con, METRICS[number])[-1], METRICS[number]


def test_the_exports_name_the_newest_lake_snapshot(in_project):
    """The manifest example's answer: the serving file is of the current release, which names
    the lake's newest snapshot."""
    [example] = [e for e in examples("lake") if "serving_is_current" in e]
    [(_, snapshot_id, serving_is_current)] = run_script(duckdb.connect(), example)[-1]
    assert serving_is_current
    assert snapshot_id == current_snapshot(LakeSettings.embedded(Path("data"))).snapshot_id
