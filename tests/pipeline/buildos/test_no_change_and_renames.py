"""Two promises of an incremental sync: with nothing changed it adds no row to any table; and
after an entity is renamed, its older log rows carry the new name, as a full sync's do (the
route names each log row after the entity as it is now)."""

from __future__ import annotations

import orjson

from pipeline import warehouse
from tests.pipeline.buildos.sync_helpers import (
    advance,
    assert_same_tables,
    current_tables,
    rows,
    simulation,
    sync_all,
)


def _row_counts(db) -> dict[str, int]:
    con = warehouse.connect(db, read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?",
            [warehouse.CATALOG],
        ).fetchall()
        return {
            f"{schema}.{table}": con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
            for schema, table in tables
        }
    finally:
        con.close()


def test_a_sync_with_nothing_changed_adds_no_row_to_any_table(sandbox_factory, tmp_path):
    server = sandbox_factory(simulation(11, accounts=2, projects=6, tasks=30))
    db = tmp_path / "w.duckdb"
    sync_all(server, db, full=True)
    before = _row_counts(db)

    results = sync_all(server, db)

    assert {r.mode for r in results} == {"incremental"}
    assert [r.records_landed for r in results] == [0, 0]
    assert all(r.landed == {} for r in results)
    after = _row_counts(db)
    # Only the run itself is recorded: one meta.sync_runs row per account.
    assert after.pop("meta.sync_runs") == before.pop("meta.sync_runs") + len(results)
    assert after == before
    assert sum(before.values()) > 4_000  # the comparison covered a real warehouse
    landed = rows(db, "select records_landed from meta.sync_runs where mode = 'incremental'")
    assert landed == [(0,), (0,)]


def _workspace_with_a_rename(tmp_path):
    """One project; a task with four logs, then 60 logs of another task (so the first task's
    logs are past the first logs page), then, after the first sync, the task and the project
    are renamed (each with a log)."""
    busy = [
        {"at": f"2026-03-{5 + n // 12:02d}T{(n % 12) * 2:02d}:00:00Z", "priority": 1 + n % 5}
        for n in range(60)
    ]
    task = {
        "id": "t-rename",
        "title": "Draft the outline",
        "created_at": "2026-03-01T09:00:00Z",
        "changes": [
            {"at": "2026-03-02T09:00:00Z", "state_key": "in_progress"},
            {"at": "2026-03-03T09:00:00Z", "state_key": "blocked"},
            {"at": "2026-03-04T09:00:00Z", "state_key": "in_progress"},
            {"at": "2026-03-12T09:00:00Z", "title": "Draft the outline and the pitch"},
        ],
    }
    workspace = {
        "format": "buildos-sandbox-workspace/1",
        "now": "2026-03-10T00:00:00Z",
        "horizon": "2026-03-20T00:00:00Z",
        "accounts": [
            {
                "projects": [
                    {
                        "name": "Write the book",
                        "created_at": "2026-03-01T08:00:00Z",
                        "changes": [{"at": "2026-03-13T09:00:00Z", "name": "Write the novel"}],
                        "tasks": [
                            task,
                            {
                                "id": "t-busy",
                                "title": "Busy",
                                "created_at": "2026-03-01T10:00:00Z",
                                "changes": busy,
                            },
                        ],
                    }
                ]
            }
        ],
    }
    path = tmp_path / "rename.json"
    path.write_bytes(orjson.dumps(workspace))
    return path


def test_incremental_equals_full_for_logs_after_a_rename(sandbox_factory, tmp_path):
    server = sandbox_factory(workspace_file=_workspace_with_a_rename(tmp_path))
    incremental = tmp_path / "incremental.duckdb"
    sync_all(server, incremental, full=True)
    old_names = rows(
        incremental, "select distinct entity_name from buildos.logs where entity_id = 't-rename'"
    )
    assert old_names == [("Draft the outline",)]

    advance(server, 5)  # past the task's and the project's renames
    [result] = sync_all(server, incremental)
    fresh = tmp_path / "fresh.duckdb"
    sync_all(server, fresh, full=True)

    assert result.mode == "incremental"
    names = rows(
        incremental,
        "select entity_id, entity_name, count(*) from buildos.logs "
        "where entity_id in ('t-rename', ?) group by all order by all",
        [rows(fresh, "select id from buildos.projects")[0][0]],
    )
    assert ("t-rename", "Draft the outline and the pitch", 5) in names
    assert [n for n in names if n[1] in ("Draft the outline", "Write the book")] == []
    assert_same_tables(current_tables(incremental, live_only=True), current_tables(fresh))
