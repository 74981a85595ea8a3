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


def test_a_fan_in_commit_holds_its_views_and_rewrites_them_only_when_a_table_changes(
    lake, tmp_path
):
    mart = next(t for t in public_tables() if t.name != ACCOUNTS and t.comment("account_id"))
    a = new_account()

    def tables(number: int, **extra) -> dict:
        return {mart.name: {"account_id": [a], "release": [number], **extra}}

    first = commit_accounts(lake, {a: release(tmp_path, a, 1, tables(1))}, bi_views=True)
    # the commit that made the table made its view: one snapshot holds both
    pinned = connect(lake, snapshot=first.snapshot_id)
    assert pinned.execute(f"select release from lake.bi.{mart.name}").fetchall() == [(1,)]

    def view_changes() -> int:
        return (
            connect(lake)
            .execute(
                "select count(*) from lake.snapshots() where changes['views_created'] is not null"
            )
            .fetchone()[0]
        )

    made = view_changes()
    commit_accounts(lake, {a: release(tmp_path, a, 2, tables(2))}, bi_views=True)
    assert view_changes() == made  # the same shape: the view already reads it
    commit_accounts(lake, {a: release(tmp_path, a, 3, tables(3, is_late=[True]))}, bi_views=True)
    assert view_changes() == made + 1  # a new column: the view is written again
    assert connect(lake).execute(
        f"select release, is_late from lake.bi.{mart.name}"
    ).fetchall() == [(3, True)]
