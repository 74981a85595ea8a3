"""The sync's database settings are put back even when a merge that failed mid-way left its
transaction open or aborted: what that transaction held is not kept, and putting the settings
back never raises an error of its own over the sync's outcome."""

from __future__ import annotations

import duckdb
import pytest

from pipeline import warehouse
from pipeline.buildos.landing import SyncDatabaseSettings


@pytest.mark.parametrize("left", ["open", "aborted"])
def test_a_transaction_left_by_a_failed_merge_is_rolled_back(tmp_path, caplog, left):
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        con.execute("create table t as select 1 as x")
        con.execute("set memory_limit = '1GiB'")  # a value its text gives back exactly
        [(before,)] = con.execute("select current_setting('memory_limit')").fetchall()
        settings = SyncDatabaseSettings(con)
        con.execute("begin")
        con.execute("insert into t values (2)")
        if left == "aborted":
            with pytest.raises(duckdb.ConversionException):
                con.execute("insert into t values ('not a number')")

        settings.end()

        assert "rolled back the transaction a failed merge left open" in caplog.text
        assert con.execute("select current_setting('memory_limit')").fetchall() == [(before,)]
        assert con.execute("select x from t").fetchall() == [(1,)]
    finally:
        con.close()


def test_another_accounts_write_transaction_leaves_the_checkpoint_to_duckdb(tmp_path, caplog):
    """run_sync lands every account in one file, each on its own cursor: one account ending
    while another's merge is open must neither fail nor touch that merge."""
    caplog.set_level("INFO", logger="pipeline.buildos.landing")
    con = warehouse.connect(tmp_path / "w.duckdb")
    other = con.cursor()
    try:
        con.execute("create table t as select 1 as x")
        [(database,)] = con.execute("select current_database()").fetchall()
        settings = SyncDatabaseSettings(con)
        other.execute("begin")
        other.execute(f"update {database}.t set x = 2")  # what makes CHECKPOINT refuse

        settings.end()

        assert "the checkpoint is left to DuckDB" in caplog.text
        assert "rolled back" not in caplog.text
        other.execute("commit")
        assert con.execute("select x from t").fetchall() == [(2,)]
    finally:
        other.close()
        con.close()
