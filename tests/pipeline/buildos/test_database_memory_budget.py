"""The DuckDB buffers of the accounts syncing at once share one budget: each database gets
its share, while syncing, and never less than a merge needs nor more than one account alone
would get."""

from __future__ import annotations

import pytest

from pipeline import warehouse
from pipeline.buildos.landing import SyncDatabaseSettings
from pipeline.buildos.sync import SyncOptions, database_memory_limit


@pytest.mark.parametrize(
    ("budget", "at_once", "expected"),
    [
        (384, 4, "96MB"),  # the defaults: 4 accounts at once
        (384, 1, "128MB"),  # one account alone keeps the per-database ceiling
        (384, 3, "128MB"),
        (384, 8, "96MB"),  # never below what a merge needs
        (1024, 8, "128MB"),
    ],
)
def test_each_database_gets_its_share_of_the_budget(budget, at_once, expected):
    options = SyncOptions(duckdb_memory_mb=budget)
    assert database_memory_limit(options, at_once) == expected


def test_the_share_is_the_databases_limit_while_it_syncs(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    try:
        con.execute("set memory_limit = '1GiB'")
        settings = SyncDatabaseSettings(con, database_memory_limit(SyncOptions(), 4))
        [(during,)] = con.execute("select current_setting('memory_limit')").fetchall()
        settings.end()
        [(after,)] = con.execute("select current_setting('memory_limit')").fetchall()
    finally:
        con.close()
    assert during == "91.5 MiB"  # 96 MB
    assert after == "1.0 GiB"
