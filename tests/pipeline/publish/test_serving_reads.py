"""BI tools open the serving file read-only through SQLAlchemy (duckdb-engine, as Superset
does), several at once, while the pipeline holds its own DuckDB file for writing."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
import sqlalchemy as sa

from pipeline.paths import PROJECT_ROOT
from pipeline.publish.serving import SERVING_FILE
from tests.pipeline.publish.publish_helpers import publish_db

QUERY = "select count(*), sum(tasks_completed) from bi.fct_velocity_weekly"

# A writer in its own process: holds the pipeline's DuckDB file open for writing, with a
# transaction under way, until its stdin closes.
WRITER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("begin")
con.execute("create table scratch_writer as select 1 as x")
print("writing", flush=True)
sys.stdin.read()
con.execute("rollback")
con.close()
"""

# A second BI reader in another process, through the URL form the docs give for Superset.
READER = """
import sys, sqlalchemy as sa
engine = sa.create_engine(f"duckdb:///{sys.argv[1]}?access_mode=READ_ONLY")
with engine.connect() as connection:
    print(list(connection.execute(sa.text(sys.argv[2])).one()))
engine.dispose()
"""


def _expected(manifest: dict) -> int:
    return manifest["tables"]["fct_velocity_weekly"]["rows"]


def test_sqlalchemy_reads_the_serving_file_read_only(pipeline_db, tmp_path):
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root)
    path = (root / SERVING_FILE).resolve()
    engine = sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    try:
        with engine.connect() as connection:
            rows, _ = connection.execute(sa.text(QUERY)).one()
            assert rows == _expected(manifest) > 0
            release = connection.execute(sa.text("select release_id from meta.release"))
            assert release.scalar_one() == manifest["release_id"]
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                connection.execute(sa.text("create table bi.scribble (x integer)"))
    finally:
        engine.dispose()


def test_readers_work_while_a_writer_holds_the_pipeline_file(pipeline_db, tmp_path):
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root)
    path = (root / SERVING_FILE).resolve()
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(pipeline_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    engine = sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True})
    try:
        assert writer.stdout.readline().strip() == "writing", writer.stderr.read()
        # The pipeline's own file is locked by its writer: a BI tool could not open it...
        with pytest.raises(duckdb.IOException, match="lock"):
            duckdb.connect(str(pipeline_db), read_only=True)
        # ...while the serving file serves two readers at once, in two processes.
        with engine.connect() as connection:
            first = list(connection.execute(sa.text(QUERY)).one())
            second = subprocess.run(
                [sys.executable, "-c", READER, str(path), QUERY],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert second.returncode == 0, second.stderr
            assert second.stdout.strip() == str(first)
        assert first[0] == _expected(manifest)
    finally:
        engine.dispose()
        writer.stdin.close()
        assert writer.wait(timeout=60) == 0, writer.stderr.read()
