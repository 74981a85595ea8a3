"""`python -m pipeline publish` publishes a built DuckDB file and says where the outputs are."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import dagster as dg
import orjson

from pipeline.paths import PROJECT_ROOT
from pipeline.publish.contract import public_tables


def test_publish_command_exits_zero_and_prints_the_outputs(pipeline_db, tmp_path):
    exports = tmp_path / "exports"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BUILDOS_ANALYTICS_POSTGRES_URL", "BUILDOS_ANALYTICS_EXPORTS")
    }
    env["DAGSTER_HOME"] = str(tmp_path / "dagster_home")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "publish",
            "--db",
            str(pipeline_db),
            "--exports",
            str(exports),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert re.search(r"checks: [1-9]\d* passed, 0 failed", out), out
    assert str(pipeline_db.resolve()) in out
    assert str(exports.resolve() / "current") in out
    assert str(exports.resolve() / "current" / "views.sql") in out
    assert str(exports.resolve() / "analytics.duckdb") in out
    assert "PostgreSQL" not in out
    manifest = orjson.loads((exports / "current" / "manifest.json").read_bytes())
    assert set(manifest["tables"]) == {t.name for t in public_tables()}
    assert (exports / "analytics.duckdb").is_file()
    # The run went to the persistent instance `make ui` reads: the UI shows it.
    instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    try:
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["exports", "analytics_duckdb"])
        )
        assert event is not None
        assert (
            instance.get_latest_materialization_event(
                dg.AssetKey(["postgres", "buildos_analytics"])
            )
            is None
        )
    finally:
        instance.dispose()
