"""One row of meta.sync_runs per sync: what it fetched and how the API behaved. The dataclass
is the row; it is written by column name, so the DDL, the stats and the CLI cannot drift."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime

import duckdb


@dataclass
class SyncRun:
    sync_id: str
    account_id: str | None
    mode: str
    status: str  # running, succeeded, partial (see failed_units), failed, abandoned
    started_at: datetime
    finished_at: datetime | None = None
    server_now: str | None = None  # the server's clock at the last answer (ISO 8601)
    projects_seen: int = 0
    projects_fetched: int = 0
    records_landed: int = 0
    records_quarantined: int = 0
    requests: int = 0
    bytes: int = 0
    logins: int = 0
    retries_rate_limited: int = 0
    retries_server_error: int = 0
    retries_timeout: int = 0
    retries_connection: int = 0
    retries_session: int = 0
    concurrency_backoffs: int = 0
    duration_seconds: float = 0.0
    error: str | None = None
    records_repaired: int = 0
    failed_units: str | None = None  # JSON list of {unit, id, reason}: what a partial run missed
    paging_stops: str | None = None  # JSON {"route: reason": count}: listings cut short

    def with_stats(self, stats: dict) -> SyncRun:
        """Take the client's counters (RequestStats.as_dict) that are columns of the row."""
        for name in COLUMNS & stats.keys():
            setattr(self, name, stats[name])
        return self

    def finish(self, status: str, error: str | None = None) -> SyncRun:
        self.status, self.error, self.finished_at = status, error, datetime.now(UTC)
        return self


COLUMNS = {f.name for f in fields(SyncRun)}


def record_run(con: duckdb.DuckDBPyConnection, run: SyncRun) -> None:
    names = [f.name for f in fields(SyncRun)]
    con.execute(
        f"insert or replace into meta.sync_runs ({', '.join(names)}) "
        f"values ({', '.join('?' for _ in names)})",
        [getattr(run, name) for name in names],
    )


def abandon_stale_runs(con: duckdb.DuckDBPyConnection, account_id: str, sync_id: str) -> int:
    """Runs of this account still `running` belong to a sync that was killed (one writer at
    a time per file): they are marked `abandoned`, so no reader takes them for live."""
    rows = con.execute(
        "update meta.sync_runs set status = 'abandoned', finished_at = ?, "
        "error = coalesce(error, 'the process ended before the run finished') "
        "where account_id = ? and status = 'running' and sync_id <> ? returning sync_id",
        [datetime.now(UTC), account_id, sync_id],
    ).fetchall()
    return len(rows)


def unsettled_accounts(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(account_id, sync_id, status, error) of each account whose latest finished sync did
    not succeed: what `build` and `publish` refuse to pass off as whole."""
    [(exists,)] = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'sync_runs'"
    ).fetchall()
    if not exists:
        return []
    return con.execute(
        "select account_id, sync_id, status, error from meta.sync_runs "
        "where account_id is not null and status <> 'running' "
        "qualify row_number() over (partition by account_id order by started_at desc) = 1 "
        "and status <> 'succeeded' order by account_id"
    ).fetchall()


def latest_sync(con: duckdb.DuckDBPyConnection, account_id: str) -> tuple | None:
    """(sync_id, status, finished_at, mode, server_now) of the account's latest finished
    sync, or None."""
    [(exists,)] = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'sync_runs'"
    ).fetchall()
    if not exists:
        return None
    rows = con.execute(
        "select sync_id, status, finished_at, mode, server_now from meta.sync_runs "
        "where account_id = ? and status <> 'running' order by started_at desc limit 1",
        [account_id],
    ).fetchall()
    return rows[0] if rows else None
