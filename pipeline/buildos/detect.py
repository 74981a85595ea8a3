"""What changed since the last sync, read back from the landed tables (so a killed sync
resumes from what really landed): suspect projects, the logs already seen, stale log names,
and the sync counters in meta.sync_state."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from pipeline.buildos.fetch import parse_timestamp

# The field that names each kind of entity a log row can be about (the route adds it to every
# log row as `entity_name`: the entity's name now, not when the row was written).
NAME_FIELDS = {
    "projects": "name",
    "tasks": "title",
    "goals": "name",
    "plans": "name",
    "milestones": "title",
    "documents": "title",
}


def suspect_projects(
    con, account_id: str, listed: list[dict], calendar: list[dict], server_now: datetime
) -> set[str]:
    """Projects worth refetching without reading their logs: what the list, the clock and the
    calendar (which shows task dates and events) say changed since the last sync."""
    stored = dict(
        con.execute(
            "select id, epoch_us(updated_at) from buildos.projects where account_id = ? "
            "and _removed_at is null",
            [account_id],
        ).fetchall()
    )
    counts = dict(
        con.execute(
            "select project_id, count(*) from buildos.tasks where account_id = ? "
            "and _removed_at is null and deleted_at is null group by all",
            [account_id],
        ).fetchall()
    )
    suspects = {
        p["id"]
        for p in listed
        if p["id"] not in stored
        or stored[p["id"]] != epoch_us(p.get("updated_at"))
        or ("task_count" in p and p["task_count"] != counts.get(p["id"], 0))
    }
    # A milestone past due that is neither completed nor in progress turns "missed" in the
    # API as time passes, with no update and no log.
    suspects |= {
        row[0]
        for row in con.execute(
            "select distinct project_id from buildos.milestones where account_id = ? "
            "and _removed_at is null and state_key = 'pending' and due_at < ?",
            [account_id, server_now],
        ).fetchall()
    }
    updated = dict(
        con.execute(
            "select id, epoch_us(updated_at) from buildos.tasks where account_id = ? "
            "and _removed_at is null union all select id, epoch_us(updated_at) "
            "from buildos.events where account_id = ? "
            "and _removed_at is null",
            [account_id, account_id],
        ).fetchall()
    )
    for item in calendar:
        if not isinstance(item, dict):
            continue  # quarantined when the calendar lands
        source_id = item.get("task_id") or item.get("event_id")
        project_id = item.get("project_id")
        if not (isinstance(source_id, str) and isinstance(project_id, str)):
            continue
        if updated.get(source_id) != epoch_us(item.get("updated_at")):
            suspects.add(project_id)
    return suspects


def stale_log_names(con, account_id: str, names: dict[str, str], fetched: set[str]) -> list[str]:
    """Ids of live log rows whose `entity_name` is no longer the entity's name, leaving out
    the rows this sync fetched again (they carry the new name already). An incremental sync
    reads only new logs, so without this a rename would stay stale in the older rows while a
    full sync has the new name."""
    if not names:
        return []
    renamed = pa.table(
        {"entity_id": list(names), "entity_name": list(names.values())},
        pa.schema([("entity_id", pa.string()), ("entity_name", pa.string())]),
    )
    con.register("current_names", renamed)
    try:
        rows = con.execute(
            "select l.id from buildos.logs as l join current_names as n using (entity_id) "
            "where l.account_id = ? and l._removed_at is null "
            "and l.entity_name is distinct from n.entity_name",
            [account_id],
        ).fetchall()
    finally:
        con.unregister("current_names")
    return [log_id for (log_id,) in rows if log_id not in fetched]


def read_state(con, account_id: str) -> dict:
    state = dict(
        con.execute(
            "select state_key, state_value from meta.sync_state where account_id = ?", [account_id]
        ).fetchall()
    )
    recent_logs: dict[str, set[str]] = {}
    for project_id, log_id in con.execute(
        "select project_id, id from buildos.logs where account_id = ? and _removed_at is null "
        "qualify row_number() over (partition by project_id "
        "order by created_at desc, id desc) <= 50",
        [account_id],
    ).fetchall():
        recent_logs.setdefault(project_id, set()).add(log_id)
    return {
        "syncs": int(state.get("syncs", 0)),
        "since_full": int(state.get("syncs_since_full", 0)),
        "recent_logs": recent_logs,
    }


def write_state(con: duckdb.DuckDBPyConnection, account_id: str, full: bool, at) -> None:
    state = dict(
        con.execute(
            "select state_key, state_value from meta.sync_state where account_id = ?", [account_id]
        ).fetchall()
    )
    values = {
        "syncs": str(int(state.get("syncs", 0)) + 1),
        "syncs_since_full": "0" if full else str(int(state.get("syncs_since_full", 0)) + 1),
        "last_sync_at": at.isoformat(),
    }
    if full:
        values["last_full_sync_at"] = at.isoformat()
    rows = [(account_id, key, value, at) for key, value in values.items()]
    con.executemany("insert or replace into meta.sync_state values (?, ?, ?, ?)", rows)


def epoch_us(value) -> int | None:
    """An API timestamp as microseconds since the epoch (stored ones are read the same way,
    with epoch_us(), so no timestamp is converted to a Python object per row)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_timestamp(value)
    except ValueError:
        return None
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
