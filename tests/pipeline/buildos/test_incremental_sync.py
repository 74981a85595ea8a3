"""Incremental syncs: after the sandbox clock moves, the current-state tables equal those of a
fresh full sync; a full reconciliation catches what the logs missed; and a sync with nothing to
do costs about one request per project and writes nothing."""

from __future__ import annotations

from pipeline.buildos.records import ENTITIES
from tests.pipeline.buildos.sync_helpers import (
    HISTORY_TABLES,
    advance,
    all_tables,
    assert_same_tables,
    current_tables,
    rows,
    simulation,
    sync_all,
)

ADVANCES = (3, 3, 3)  # days, inside the 20-day horizon


def _removed_ids(db) -> dict[str, set[tuple]]:
    return {
        name: set(
            rows(db, f"select account_id, id from buildos.{name} where _removed_at is not null")
        )
        for name in ENTITIES
    }


def _history_counts(db) -> dict[str, int]:
    return {name: rows(db, f"select count(*) from history.{name}")[0][0] for name in HISTORY_TABLES}


def test_incremental_syncs_leave_the_same_tables_as_a_fresh_full_sync(sandbox_factory, tmp_path):
    # Seed 34 soft-deletes a project on the 8th day: its rows must leave the current tables
    # too. No silent changes, so every change is visible to an incremental sync.
    server = sandbox_factory(simulation(34, accounts=1, projects=5, silent_change_rate=0))
    incremental = tmp_path / "incremental.duckdb"
    sync_all(server, incremental, full=True)
    history_before = _history_counts(incremental)

    modes, fetched, seen = set(), 0, 0
    for days in ADVANCES:
        advance(server, days)
        for result in sync_all(server, incremental):
            modes.add(result.mode)
            fetched += result.projects_fetched
            seen += result.projects_seen
    fresh = tmp_path / "fresh.duckdb"
    sync_all(server, fresh, full=True)

    assert modes == {"incremental"}
    assert 0 < fetched < seen, "incremental syncs refetch some projects, not all"
    assert _history_counts(incremental) != history_before, "the clock moves should change rows"
    live = current_tables(incremental, live_only=True)
    assert_same_tables(live, current_tables(fresh))
    # What the incremental database still holds beyond that is marked removed, and is exactly
    # what the API stopped returning (the deleted project and everything in it, removed edges).
    removed = _removed_ids(incremental)
    assert removed["projects"], "the scenario should delete a project while the clock moves"
    for name, ids in removed.items():
        fresh_ids = set(rows(fresh, f"select account_id, id from buildos.{name}"))
        assert not ids & fresh_ids, name
    deleted_projects = {row[1] for row in removed["projects"]}
    orphans = rows(
        incremental,
        "select 'tasks', id, _removed_at is null from buildos.tasks "
        "where list_contains(?, project_id) "
        "union all select 'logs', id, _removed_at is null from buildos.logs "
        "where list_contains(?, project_id)",
        [sorted(deleted_projects), sorted(deleted_projects)],
    )
    assert orphans, "the deleted project had tasks and logs"
    assert not [row for row in orphans if row[2]], "rows of a deleted project left live"


def test_a_full_reconciliation_catches_changes_the_logs_missed(sandbox_factory, tmp_path):
    # A high share of silent changes: some of them (here an undated task that moves to done
    # without a log) give an incremental sync no signal, so only a full reconciliation sees them.
    server = sandbox_factory(simulation(5, accounts=1, projects=5, silent_change_rate=0.8))
    db = tmp_path / "w.duckdb"
    sync_all(server, db, full=True)
    for days in ADVANCES:
        advance(server, days)
        sync_all(server, db)
    fresh = tmp_path / "fresh.duckdb"
    sync_all(server, fresh, full=True)
    expected = current_tables(fresh)
    missed = {
        table for table, got in current_tables(db, live_only=True).items() if got != expected[table]
    }
    assert missed, "with silent changes the incremental syncs should miss something"

    results = sync_all(server, db, full=True)

    assert {r.mode for r in results} == {"full"}
    assert_same_tables(current_tables(db, live_only=True), expected)


def _no_change_sync(sandbox_factory, tmp_path, tasks: int):
    server = sandbox_factory(simulation(11, accounts=1, projects=8, tasks=tasks))
    db = tmp_path / f"tasks{tasks}.duckdb"
    sync_all(server, db, full=True)
    before = all_tables(db)
    [result] = sync_all(server, db)
    return db, before, result


def test_a_sync_with_nothing_changed_writes_nothing_and_costs_a_request_per_project(
    sandbox_factory, tmp_path
):
    small_db, small_before, small = _no_change_sync(sandbox_factory, tmp_path, tasks=15)
    big_db, big_before, big = _no_change_sync(sandbox_factory, tmp_path, tasks=60)

    for db, before, result in ((small_db, small_before, small), (big_db, big_before, big)):
        assert result.mode == "incremental"
        assert result.projects_fetched == 0
        assert all_tables(db) == before  # no new history version, raw payload or current row
        for name in ENTITIES:
            rewritten = rows(
                db, f"select count(*) from buildos.{name} where _sync_id = ?", [result.sync_id]
            )
            assert rewritten == [(0,)], name
        recorded = rows(
            db, "select status, requests from meta.sync_runs where sync_id = ?", [result.sync_id]
        )
        assert recorded == [("succeeded", result.stats["requests"])]
        # One logs page per project, plus login, the project list, the calendar, brain dumps
        # and briefs.
        assert result.stats["requests"] <= result.projects_seen + 6, result.stats

    tasks_small = rows(small_db, "select count(*) from buildos.tasks")[0][0]
    tasks_big = rows(big_db, "select count(*) from buildos.tasks")[0][0]
    assert tasks_big >= 3 * tasks_small
    assert small.projects_seen == big.projects_seen
    assert abs(big.stats["requests"] - small.stats["requests"]) <= 1, (small.stats, big.stats)
