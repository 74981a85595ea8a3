"""When someone else holds the pipeline's DuckDB file, publish says who, and what to open
instead, rather than blaming a check."""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from pipeline import locks, warehouse
from pipeline.paths import PROJECT_ROOT

# A reader in its own process: holds the file open read-only until its stdin closes.
HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
sys.stdin.read()
con.close()
"""


@pytest.fixture
def held(pipeline_db):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(pipeline_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield holder.pid
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_lock_holder_is_the_reading_process(pipeline_db, held):
    holder = locks.lock_holder(pipeline_db)
    assert holder is not None and holder.pid == held
    assert "python" in holder.command
    # A second reader does not conflict with a reader.
    assert locks.lock_holder(pipeline_db, for_writing=False) is None


def test_opening_for_writing_names_the_file_the_holder_and_the_serving_file(pipeline_db, held):
    with pytest.raises(locks.WarehouseLocked) as caught:
        warehouse.connect(pipeline_db)
    message = str(caught.value)
    assert str(pipeline_db.resolve()) in message
    assert f"PID {held}" in message
    assert "analytics.duckdb" in message
    assert isinstance(caught.value, duckdb.IOException)


def test_publish_command_reports_the_lock_not_a_check(pipeline_db, held, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUILDOS_ANALYTICS")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "publish",
            "--db",
            str(pipeline_db),
            "--exports",
            str(tmp_path / "exports"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0
    reason = done.stderr.split("Error: publishing stopped at bi_views", 1)[1]
    assert f"PID {held}" in reason, done.stderr[-2000:]
    assert "a blocking check failed" not in done.stderr
    assert "analytics.duckdb" in reason
