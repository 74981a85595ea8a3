"""Given rows as `bi.*` tables in an in-memory DuckDB: the columns the dashboard reads, typed
as the marts type them. Anything the dashboard reads beyond these fails the tests."""

from __future__ import annotations

import duckdb

BI_COLUMNS: dict[str, dict[str, str]] = {
    "dim_accounts": {
        "account_id": "varchar",
        "as_of_at": "timestamptz",
        "as_of_date": "date",
    },
    "dim_projects": {
        "account_id": "varchar",
        "project_id": "varchar",
        "project_name": "varchar",
        "project_state": "varchar",
        "is_deleted": "boolean",
    },
    "fct_project_completion": {
        "account_id": "varchar",
        "project_id": "varchar",
        "live_tasks": "bigint",
        "done_tasks": "bigint",
    },
    "fct_velocity_weekly": {
        "account_id": "varchar",
        "project_id": "varchar",
        "week_start": "date",
        "tasks_completed": "bigint",
        "tasks_completed_avg_3w": "double",
    },
    "fct_burndown_daily": {
        "account_id": "varchar",
        "project_id": "varchar",
        "day_date": "date",
        "scope_tasks": "bigint",
        "completed_tasks": "bigint",
        "remaining_tasks": "bigint",
        "ideal_remaining_tasks": "double",
        "projected_completion_date": "date",
    },
    "fct_project_risk": {
        "account_id": "varchar",
        "project_id": "varchar",
        "project_name": "varchar",
        "project_state": "varchar",
        "as_of_date": "date",
        "remaining_tasks": "bigint",
        "ideal_remaining_tasks": "double",
        "projected_completion_date": "date",
        "end_date": "date",
        "missed_milestones": "bigint",
        "blocked_tasks": "bigint",
        "is_at_risk": "boolean",
        "risk_status": "varchar",
        "behind_share_of_scope": "double",
        "behind_tasks": "integer",
        "risk_reasons": "varchar[]",
    },
    "fct_task_flow": {
        "account_id": "varchar",
        "project_id": "varchar",
        "task_id": "varchar",
        "completed_at": "timestamptz",
        "cycle_time_days": "double",
        "completed_date": "date",
    },
    "fct_wip_aging": {
        "account_id": "varchar",
        "project_id": "varchar",
        "task_id": "varchar",
        "task_state": "varchar",
        "age_days": "double",
    },
    "fct_braindumps_daily": {
        "account_id": "varchar",
        "day_date": "date",
        "braindumps_created": "bigint",
        "braindumps_processed": "bigint",
        "braindumps_failed": "bigint",
        "braindumps_pending": "bigint",
    },
}


def bi_database(**tables: list[dict]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with every bi table above, holding the rows given per table name
    (missing columns are null)."""
    con = duckdb.connect()
    con.execute("create schema bi")
    for name, columns in BI_COLUMNS.items():
        listed = ", ".join(f"{column} {kind}" for column, kind in columns.items())
        con.execute(f"create table bi.{name} ({listed})")
        placeholders = ", ".join("?" for _ in columns)
        for row in tables.pop(name, []):
            unknown = set(row) - set(columns)
            assert not unknown, f"bi.{name} has no column {unknown}"
            con.execute(
                f"insert into bi.{name} values ({placeholders})",
                [row.get(column) for column in columns],
            )
    assert not tables, f"unknown bi tables {sorted(tables)}"
    return con
