"""The README's main command, end to end, as a user runs it (in a fresh folder)."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import orjson


def test_demo_runs_everything_and_says_where_the_outputs_are(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for line in (
        "DuckDB file",
        "Parquet exports",
        "views.sql",
        "analytics.duckdb",
        "latest.html",
        "active projects",
        "overall completion",
        "projects at risk",
    ):
        assert line in out, line
    for path in (
        "data/warehouse.duckdb",
        "exports/current/manifest.json",
        "exports/current/views.sql",
        "exports/analytics.duckdb",
        "exports/dashboards/latest.html",
        "exports/dashboards/latest.png",
    ):
        assert (tmp_path / path).exists(), path
    con = duckdb.connect(str(tmp_path / "exports/analytics.duckdb"), read_only=True)
    try:
        rows = con.execute("select count(*) from bi.fct_velocity_weekly").fetchall()[0][0]
        name = con.execute(
            "select project_name from bi.fct_project_status group by 1 having count(*) = 1 "
            "order by 1 limit 1"
        ).fetchall()[0][0]
    finally:
        con.close()
    assert rows > 0
    status = subprocess.run(
        [sys.executable, "-m", "pipeline", "status", name.upper()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert status.returncode == 0, status.stderr
    assert orjson.loads(status.stdout)["project_name"] == name
