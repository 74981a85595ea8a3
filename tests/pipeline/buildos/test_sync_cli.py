"""`python -m pipeline sync` against a sandbox: the same assets, run from the command line."""

from __future__ import annotations

import subprocess
import sys

from pipeline.paths import PROJECT_ROOT
from tests.pipeline.buildos.sync_helpers import rows, simulation


def test_the_sync_command_lands_the_data_and_prints_the_duckdb_path(sandbox_factory, tmp_path):
    server = sandbox_factory(simulation(1, accounts=1))
    db = tmp_path / "cli.duckdb"

    done = subprocess.run(
        [
            *(sys.executable, "-m", "pipeline", "sync", "--base-url", server.base_url),
            *("--email", "demo@sandbox.local", "--password", "sandbox", "--db", str(db), "--full"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert f"DuckDB file: {db.resolve()}" in done.stdout
    assert "buildos/tasks" in done.stdout
    [(tasks,)] = rows(db, "select count(*) from buildos.tasks")
    assert tasks > 0
    assert rows(db, "select mode, status from meta.sync_runs") == [("full", "succeeded")]
