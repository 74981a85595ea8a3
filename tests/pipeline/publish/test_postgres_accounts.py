"""The per-account PostgreSQL publish: a change in one account replaces that account's rows
and no other's, a removed account is deleted, and a change of the table contract falls back
to building a new schema and switching the views to it."""

from __future__ import annotations

import pytest

from pipeline import warehouse
from pipeline.publish import postgres
from tests.pipeline.publish.postgres_changes import (
    PAIR,
    accounts,
    change_account,
    current_tables,
    held_releases,
    pg_counts,
    release_counts,
    remove_account,
    row_versions,
    session,
    write_release,
)
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, normalized_rows

pytestmark = pytest.mark.postgres


def test_a_change_in_one_account_replaces_only_its_rows(pipeline_db, tmp_path, pg_schema):
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        first = write_release(con, root)
        ids = accounts(con)
        assert len(ids) == 3
        changed, *others = ids
        result = postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema)
        assert result["mode"] == "schema_switch"
        tables = current_tables(pg_schema)
        names = list(release_counts(root, first))
        with session(autocommit=True) as connection:
            before = {a: row_versions(connection, tables, names, a) for a in ids}
        change_account(con, changed, "account-release-2", drop=3)
        second = write_release(con, root)
        velocity = normalized_rows(
            con.execute(
                "select account_id, project_id, week_start, tasks_completed "
                "from marts.fct_velocity_weekly"
            ).fetchall()
        )
    finally:
        con.close()
    result = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
    counts = release_counts(root, second)
    assert result["mode"] == "per_account"
    assert (result["accounts_replaced"], result["accounts_unchanged"]) == (1, 2)
    assert result["accounts_removed"] == result["tables_replaced"] == 0  # the calendar too
    # What was written is the changed account's rows, and nothing else.
    assert result["rows"] == sum(c.get(changed, 0) for c in counts.values())
    assert current_tables(pg_schema) == tables  # no new schema
    with session(autocommit=True) as connection:
        after = {a: row_versions(connection, tables, names, a) for a in ids}
        for account in others:
            assert after[account] == before[account], account  # untouched: same rows, same xmin
        assert not after[changed] & before[changed]  # every row of it was written anew
        assert pg_counts(connection, pg_schema, names) == counts
        held = held_releases(connection, pg_schema)
        assert held[changed] == ("account-release-2", second["release_id"])
        assert all(held[a][1] == first["release_id"] for a in others)
        snapshots = dict(
            connection.execute(
                f"select account_id, lake_snapshot from {pg_schema}.account_releases"
            ).fetchall()
        )
        assert first["lake_snapshot"] is not None  # the demo's fan-in commits to the lake
        assert snapshots == {a: first["lake_snapshot"] for a in others} | {
            changed: second["lake_snapshot"]
        }
        (release_id,) = connection.execute(f"select release_id from {pg_schema}.release").fetchone()
        assert release_id == second["release_id"]
        rows = connection.execute(
            "select account_id, project_id, week_start, tasks_completed "
            f"from {pg_schema}.bi_fct_velocity_weekly"
        ).fetchall()
        assert normalized_rows(rows) == velocity
    # The same release again: nothing to do.
    again = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
    assert again["already_published"] and again["rows"] == 0


def test_a_removed_account_is_deleted(pipeline_db, tmp_path, pg_schema):
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        first = write_release(con, root)
        kept_a, kept_b, gone = accounts(con)
        postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema)
        remove_account(con, gone)
        second = write_release(con, root)
    finally:
        con.close()
    tables = current_tables(pg_schema)
    names = list(release_counts(root, second))
    with session(autocommit=True) as connection:
        before = {a: row_versions(connection, tables, names, a) for a in (kept_a, kept_b)}
        assert row_versions(connection, tables, names, gone)
    result = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
    assert (result["accounts_removed"], result["accounts_replaced"]) == (1, 0)
    assert result["rows"] == 0
    with session(autocommit=True) as connection:
        assert row_versions(connection, tables, names, gone) == set()
        for account in (kept_a, kept_b):
            assert row_versions(connection, tables, names, account) == before[account]
        assert set(held_releases(connection, pg_schema)) == {kept_a, kept_b}
        labels = connection.execute(
            f"select count(*) from {pg_schema}.bi_dim_accounts where account_id = %s", [gone]
        ).fetchone()
        assert labels == (0,)


def test_a_contract_change_falls_back_to_the_schema_switch(pipeline_db, tmp_path, pg_schema):
    """Free text on adds columns: a new schema is built and the views switched to it; the
    previous schema stays for its grace period, and the next change goes per account again."""
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        first = write_release(con, root)
        postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema)
        old = current_tables(pg_schema)
        wider = write_release(con, root, free_text=True)
        switched = postgres.publish_release(POSTGRES_URL, root, wider["release_id"], pg_schema)
        changed = accounts(con)[0]
        change_account(con, changed, "account-release-2", drop=2)
        third = write_release(con, root, free_text=True)
    finally:
        con.close()
    assert switched["mode"] == "schema_switch"
    new = current_tables(pg_schema)
    assert new != old and new == postgres.release_schema(pg_schema, wider["release_id"])
    with session(autocommit=True) as connection:
        columns = {
            c
            for (c,) in connection.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = 'bi_fct_project_status'",
                [pg_schema],
            )
        }
        assert "recent_updates" in columns
        # Readers that named the old schema directly still can, for the grace period.
        old_rows = connection.execute(f"select count(*) from {old}.dim_projects").fetchone()
        assert old_rows[0] > 0
        assert set(held_releases(connection, pg_schema).values()) == {
            (r["account_release_id"], wider["release_id"]) for r in wider["source"]
        }
    result = postgres.publish_release(POSTGRES_URL, root, third["release_id"], pg_schema)
    assert result["mode"] == "per_account" and result["accounts_replaced"] == 1
    assert current_tables(pg_schema) == new
    with session(autocommit=True) as connection:
        assert pg_counts(connection, pg_schema, PAIR) == {
            t: c for t, c in release_counts(root, third).items() if t in PAIR
        }


def test_without_account_releases_a_digest_of_the_rows_decides_what_changed(
    pipeline_db, tmp_path, pg_schema
):
    """A release no fan-in made names no account release: each account's rows are compared by
    digest, so only the account whose rows changed is written again."""
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        ids = accounts(con)
        changed, *others = ids
        # One modelled file of every account, as the metric tests build: its sources are the
        # accounts' latest syncs, with no account release.
        con.execute("drop table meta.account_releases")
        con.execute(
            "create or replace table meta.sync_runs as select account_id, 's-' || account_id "
            "as sync_id, 'full' as mode, now() as server_now, 'succeeded' as status, "
            "now() as started_at from marts.dim_accounts"
        )
        first = write_release(con, root)
        assert sorted(s["account_id"] for s in first["source"]) == ids
        assert all(s["account_release_id"] is None for s in first["source"])
        postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema)
        tables = current_tables(pg_schema)
        names = list(release_counts(root, first))
        with session(autocommit=True) as connection:
            before = {a: row_versions(connection, tables, names, a) for a in ids}
        for table in PAIR:  # fewer rows, and still no account release
            con.execute(
                f"delete from marts.{table} where rowid in (select rowid from marts.{table} "
                "where account_id = ? order by rowid limit 2)",
                [changed],
            )
        second = write_release(con, root)
    finally:
        con.close()
    result = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
    assert result["mode"] == "per_account"
    assert (result["accounts_replaced"], result["accounts_unchanged"]) == (1, len(others))
    with session(autocommit=True) as connection:
        after = {a: row_versions(connection, tables, names, a) for a in ids}
        assert pg_counts(connection, pg_schema, names) == release_counts(root, second)
    for account in others:
        assert after[account] == before[account], account
    assert not after[changed] & before[changed]
    # The same rows under a new release id: nothing is written.
    con = warehouse.connect(pipeline_db)
    try:
        third = write_release(con, root)
    finally:
        con.close()
    again = postgres.publish_release(POSTGRES_URL, root, third["release_id"], pg_schema)
    assert (again["accounts_replaced"], again["rows"]) == (0, 0)
