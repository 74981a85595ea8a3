"""Shared helpers for the sync tests: sandbox options, client settings, running a sync, and
reading the landed tables back for comparison.

Imported by the test modules as `tests.pipeline.buildos.sync_helpers`; the fixtures are in
conftest.py beside it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import httpx

from pipeline import warehouse
from pipeline.buildos.client import ClientSettings
from pipeline.buildos.records import ENTITIES
from pipeline.buildos.sync import SyncOptions, SyncResult, sync_account
from pipeline.sandbox import SandboxServer, SimulationOptions, account_credentials

NOW = datetime(2026, 3, 2, tzinfo=UTC)
HISTORY_TABLES = [name for name, spec in ENTITIES.items() if spec.history]
LINEAGE = "_synced_at, _sync_id"


def simulation(
    seed: int,
    accounts: int = 2,
    projects: int = 4,
    tasks: int = 15,
    days: int = 60,
    horizon_days: int = 20,
    silent_change_rate: float = 0.03,
) -> SimulationOptions:
    return SimulationOptions(
        seed=seed,
        accounts=accounts,
        projects_per_account=projects,
        tasks_per_project=tasks,
        days=days,
        horizon_days=horizon_days,
        now=NOW,
        silent_change_rate=silent_change_rate,
    )


def settings(base_url: str, index: int = 0, **overrides) -> ClientSettings:
    """Client settings for the index-th sandbox account, tuned for tests: no proactive
    throttle, short backoffs, enough attempts to ride out injected faults."""
    email, password, _key = account_credentials(index)
    values = {
        "requests_per_second": 0,
        "backoff_base": 0.01,
        "backoff_max": 0.2,
        "max_attempts": 10,
        **overrides,
    }
    return ClientSettings(base_url=base_url, email=email, password=password, **values)


def key_settings(base_url: str, index: int = 0, **overrides) -> ClientSettings:
    """The same, authenticated with the account's Bearer key instead of a login."""
    return dataclasses.replace(
        settings(base_url, index, **overrides),
        email=None,
        password=None,
        api_key=account_credentials(index)[2],
    )


def sync_all(server: SandboxServer, db: Path, full: bool = False, **overrides) -> list[SyncResult]:
    """Sync every account of the sandbox into the DuckDB file, one after the other."""
    con = warehouse.connect(db)
    try:
        return [
            asyncio.run(
                sync_account(
                    settings(server.base_url, index, **overrides), con, SyncOptions(full=full)
                )
            )
            for index in range(len(server.app.workspace.accounts))
        ]
    finally:
        con.close()


def advance(server: SandboxServer, days: float) -> None:
    response = httpx.post(f"{server.base_url}/__sandbox/clock/advance", json={"days": days})
    assert response.status_code == 200, response.text


def truth(server: SandboxServer, account_id: str | None = None) -> dict:
    params = {"account_id": account_id} if account_id else {}
    response = httpx.get(f"{server.base_url}/__sandbox/truth", params=params, timeout=60)
    assert response.status_code == 200, response.text[:500]
    return response.json()["data"]


def rows(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = warehouse.connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def _table_rows(con, table: str, where: str = "") -> list[tuple]:
    """Every row of a landed table without the per-run lineage columns, in a stable order."""
    keys = "account_id, id"
    if table.startswith("history."):
        keys += ", valid_from, payload_hash"
    elif table.startswith("raw."):
        keys += ", payload_hash"
    return con.execute(
        f"select * exclude ({LINEAGE}) from {table} {where} order by {keys}"
    ).fetchall()


def _read_tables(db: Path, tables: list[str], where: str = "") -> dict[str, list[tuple]]:
    con = warehouse.connect(db, read_only=True)
    try:
        return {table: _table_rows(con, table, where) for table in tables}
    finally:
        con.close()


def current_tables(db: Path, live_only: bool = False) -> dict[str, list[tuple]]:
    """buildos.*, optionally only the rows the API still returns (`_removed_at` null)."""
    where = "where _removed_at is null" if live_only else ""
    return _read_tables(db, [f"buildos.{name}" for name in ENTITIES], where)


def all_tables(db: Path) -> dict[str, list[tuple]]:
    """buildos.*, history.* and raw.*: what a sync lands."""
    return _read_tables(
        db,
        [f"buildos.{name}" for name in ENTITIES]
        + [f"history.{name}" for name in HISTORY_TABLES]
        + [f"raw.{name}" for name in ENTITIES],
    )


def assert_same_tables(actual: dict[str, list[tuple]], expected: dict[str, list[tuple]]) -> None:
    """Table by table, with a short diff of the first difference when they differ."""
    assert actual.keys() == expected.keys()
    for table in expected:
        got, want = actual[table], expected[table]
        if got != want:
            extra = [_short(row) for row in sorted(set(got) - set(want), key=repr)[:3]]
            missing = [_short(row) for row in sorted(set(want) - set(got), key=repr)[:3]]
            raise AssertionError(
                f"{table}: {len(got)} rows, expected {len(want)}; "
                f"unexpected {extra}; missing {missing}"
            )


def _short(row: tuple) -> str:
    text = repr(row)
    return text if len(text) <= 240 else text[:240] + "...)"
