"""What the tests expect, read straight from a serving file's marts with plain SQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from pipeline.publish.serving import SERVING_FILE


def read(exports: Path, sql: str, params: list | None = None) -> list[dict]:
    con = duckdb.connect(str(exports / SERVING_FILE), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def shared_name(exports: Path) -> dict:
    """A project name two accounts both use, and the two projects."""
    rows = read(
        exports,
        "select lower(project_name) as name, list(account_id order by account_id) as accounts, "
        "list(project_id order by account_id) as projects from marts.fct_project_status "
        "group by 1 having count(distinct account_id) = 2 and count(*) = 2 order by 1 limit 1",
    )
    assert rows, "the demo data should have a project name two accounts share"
    return rows[0]


def busiest_project(exports: Path) -> dict:
    """The live project with the most tasks completed in the 60 days to its as-of day, among
    names no other project shares."""
    return read(
        exports,
        "with recent as ("
        " select account_id, project_id, count(*) as completions from marts.fct_task_flow"
        " inner join marts.dim_accounts using (account_id)"
        " where completed_date > as_of_date - 60 group by all),"
        " unique_names as ("
        " select lower(project_name) as name from marts.fct_project_status"
        " group by 1 having count(*) = 1)"
        " select s.* from marts.fct_project_status as s"
        " inner join recent using (account_id, project_id)"
        " where lower(s.project_name) in (select name from unique_names)"
        " order by recent.completions desc, s.project_id limit 1",
    )[0]
