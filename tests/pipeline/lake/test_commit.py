"""commit_accounts: one commit replaces the named accounts' rows in every table, deletes the
removed accounts' rows, keeps everyone else's, and says which syncs the snapshot holds."""

from __future__ import annotations

import pytest

from pipeline.lake import commit_accounts, connect, current_snapshot
from pipeline.safety import UnsafePathError
from tests.pipeline.lake.lake_helpers import new_account, release, releases_of, rows


def test_first_commit_creates_the_tables_and_records_the_syncs(lake, tmp_path):
    a, b = new_account(), new_account()
    snapshot = commit_accounts(lake, {a: release(tmp_path, a, 1), b: release(tmp_path, b, 1)})

    con = connect(lake)
    assert releases_of(con, "fct_items") == {a: {1}, b: {1}}
    assert len(rows(con, "fct_items")) == 6
    # the calendar has no account_id: the distinct days of every account's file
    assert rows(con, "dim_days") == [(1,), (2,)]
    assert snapshot.sync_ids() == {a: (f"sync-{a[:8]}-1",), b: (f"sync-{b[:8]}-1",)}
    assert {held.release_id for held in snapshot.accounts.values()} == {"r1"}
    assert current_snapshot(lake) == snapshot


def test_a_release_replaces_its_accounts_rows_and_leaves_the_others(lake, tmp_path):
    a, b, c = new_account(), new_account(), new_account()
    commit_accounts(lake, {x: release(tmp_path, x, 1) for x in (a, b, c)})
    before = (
        connect(lake)
        .execute("select * from lake.marts.fct_items where account_id <> ? order by all", [a])
        .fetchall()
    )

    snapshot = commit_accounts(lake, {a: release(tmp_path, a, 2)})

    con = connect(lake)
    assert releases_of(con, "fct_items") == {a: {2}, b: {1}, c: {1}}
    assert releases_of(con, "fct_totals") == {a: {2}, b: {1}, c: {1}}
    assert len(rows(con, "fct_items")) == 9  # replaced, not added
    after = con.execute(
        "select * from lake.marts.fct_items where account_id <> ? order by all", [a]
    ).fetchall()
    assert after == before
    assert snapshot.accounts[a].release_id == "r2"
    assert snapshot.accounts[b].release_id == "r1"
    assert rows(con, "dim_days") == [(1,), (2,), (3,)]


def test_removed_accounts_lose_their_rows_in_every_table(lake, tmp_path):
    a, b = new_account(), new_account()
    commit_accounts(lake, {a: release(tmp_path, a, 1), b: release(tmp_path, b, 1)})

    snapshot = commit_accounts(lake, {}, removed=[b])

    con = connect(lake)
    assert releases_of(con, "fct_items") == {a: {1}}
    assert releases_of(con, "fct_totals") == {a: {1}}
    assert set(snapshot.accounts) == {a}


def test_a_table_missing_from_a_release_loses_that_accounts_rows(lake, tmp_path):
    a, b = new_account(), new_account()
    commit_accounts(lake, {a: release(tmp_path, a, 1), b: release(tmp_path, b, 1)})
    only_items = {"fct_items": {"account_id": [a], "item": [9], "release": [2]}}

    commit_accounts(lake, {a: release(tmp_path, a, 2, only_items)})

    con = connect(lake)
    assert releases_of(con, "fct_totals") == {b: {1}}
    assert releases_of(con, "fct_items") == {a: {2}, b: {1}}


def test_a_column_a_release_adds_is_added_to_the_table(lake, tmp_path):
    a, b = new_account(), new_account()
    commit_accounts(lake, {a: release(tmp_path, a, 1), b: release(tmp_path, b, 1)})
    wider = {
        "fct_items": {"account_id": [a], "item": [1], "release": [2], "is_blocked": [True]},
    }

    commit_accounts(lake, {a: release(tmp_path, a, 2, wider)})

    con = connect(lake)
    assert con.execute(
        "select account_id = ?, release, is_blocked from lake.marts.fct_items order by all", [a]
    ).fetchall() == [(False, 1, None)] * 3 + [(True, 2, True)]


def test_account_ids_are_checked_before_anything_is_written(lake, tmp_path):
    a = new_account()
    commit_accounts(lake, {a: release(tmp_path, a, 1)})
    first = current_snapshot(lake)

    with pytest.raises(UnsafePathError):
        commit_accounts(lake, {"x'; drop table t; --": release(tmp_path, a, 2)})
    with pytest.raises(UnsafePathError):
        commit_accounts(lake, {}, removed=["../other"])
    # a hand-off holding another account's rows is refused whole
    stray = {"fct_items": {"account_id": [new_account()], "item": [1], "release": [2]}}
    with pytest.raises(ValueError, match="holds rows of account"):
        commit_accounts(lake, {a: release(tmp_path, a, 2, stray)})

    assert current_snapshot(lake) == first
    assert releases_of(connect(lake), "fct_items") == {a: {1}}


def test_nothing_to_commit_makes_no_snapshot(lake, tmp_path):
    a = new_account()
    first = commit_accounts(lake, {a: release(tmp_path, a, 1)})
    assert commit_accounts(lake, {}) == first


def test_a_reader_pinned_to_a_snapshot_keeps_seeing_it(lake, tmp_path):
    a, b = new_account(), new_account()
    first = commit_accounts(lake, {a: release(tmp_path, a, 1), b: release(tmp_path, b, 1)})
    pinned = connect(lake, snapshot=first.snapshot_id)

    second = commit_accounts(lake, {a: release(tmp_path, a, 2)}, removed=[b])

    assert second.snapshot_id > first.snapshot_id
    assert releases_of(pinned, "fct_items") == {a: {1}, b: {1}}
    # a connection opened later at the old snapshot, and time travel on the current one
    assert releases_of(connect(lake, snapshot=first.snapshot_id), "fct_totals") == {
        a: {1},
        b: {1},
    }
    latest = connect(lake)
    assert latest.execute(
        "select distinct release from lake.marts.fct_items at (version => ?) where account_id = ?",
        [first.snapshot_id, a],
    ).fetchall() == [(1,)]
    assert releases_of(latest, "fct_items") == {a: {2}}


def test_readers_cannot_write(lake, tmp_path):
    a = new_account()
    commit_accounts(lake, {a: release(tmp_path, a, 1)})
    with pytest.raises(Exception, match=r"(?i)read.only"):
        connect(lake).execute("delete from lake.marts.fct_items")
