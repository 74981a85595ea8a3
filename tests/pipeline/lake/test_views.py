"""The bi views live in the lake: a reader attaching it under any name reads them, with the
mart's description on the view and the column docs on the mart's columns."""

from __future__ import annotations

import duckdb

from pipeline.lake import attach, commit_accounts, connect, write_bi_views
from pipeline.publish.contract import ACCOUNTS, public_tables
from tests.pipeline.lake.lake_helpers import new_account, release


def test_bi_views_in_the_lake_with_their_comments(lake, tmp_path):
    mart = next(t for t in public_tables() if t.name != ACCOUNTS and t.comment("account_id"))
    a, b = new_account(), new_account()
    tables = {
        x: {
            mart.name: {"account_id": [x, x], "release": [1, 1]},
            ACCOUNTS: {"account_id": [x], "account_label": [f"label {x[:4]}"]},
        }
        for x in (a, b)
    }
    commit_accounts(lake, {x: release(tmp_path, x, 1, tables[x]) for x in (a, b)})

    counts = write_bi_views(connect(lake, read_only=False))

    assert counts[f"bi.{mart.name}"] == 4
    reader = attach(duckdb.connect(), lake, alias="analytics")
    assert reader.execute(
        f"select distinct account_id, account_label from analytics.bi.{mart.name} order by 1"
    ).fetchall() == sorted((x, f"label {x[:4]}") for x in (a, b))
    assert reader.execute(
        "select comment from duckdb_views() where database_name = 'analytics' "
        "and schema_name = 'bi' and view_name = ?",
        [mart.name],
    ).fetchone() == (mart.description,)
    assert reader.execute(
        "select comment from duckdb_columns() where database_name = 'analytics' "
        "and schema_name = 'marts' and table_name = ? and column_name = 'account_id'",
        [mart.name],
    ).fetchone() == (mart.comment("account_id"),)
