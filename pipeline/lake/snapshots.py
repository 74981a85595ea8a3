"""What one lake snapshot holds: its DuckLake snapshot id and time, and which release and
syncs of each account it carries (the lake table meta.account_releases as of that snapshot)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from pipeline.lake.connect import connect
from pipeline.lake.settings import LakeSettings

RELEASES_TABLE = "meta.account_releases"
RELEASES_DDL = (
    "create table if not exists {alias}.meta.account_releases (account_id varchar not null, "
    "release_id varchar, sync_ids varchar[] not null, loaded_at timestamptz not null)"
)


@dataclass(frozen=True)
class AccountHeld:
    release_id: str | None
    sync_ids: tuple[str, ...]
    loaded_at: datetime


@dataclass(frozen=True)
class Snapshot:
    snapshot_id: int
    committed_at: datetime | None
    accounts: Mapping[str, AccountHeld] = field(default_factory=dict)

    def sync_ids(self) -> dict[str, tuple[str, ...]]:
        return {account: held.sync_ids for account, held in self.accounts.items()}


def read_snapshot(con: duckdb.DuckDBPyConnection, alias: str = "lake") -> Snapshot:
    """The snapshot con sees through `alias` (its current one, or the one it is pinned to),
    read in one transaction (con must not be in one) so the id and the accounts agree."""
    con.execute("begin")
    try:
        snapshot_id = con.execute(f"select id from {alias}.current_snapshot()").fetchone()[0]
        committed_at = con.execute(
            f"select snapshot_time from {alias}.snapshots() where snapshot_id = ?", [snapshot_id]
        ).fetchone()
        exists = con.execute(
            "select count(*) from duckdb_tables() where database_name = ? "
            "and schema_name = 'meta' and table_name = 'account_releases'",
            [alias],
        ).fetchone()[0]
        rows = (
            con.execute(
                f"select account_id, release_id, sync_ids, loaded_at from {alias}.{RELEASES_TABLE}"
            ).fetchall()
            if exists
            else []
        )
    finally:
        con.execute("commit")
    return Snapshot(
        snapshot_id=snapshot_id,
        committed_at=committed_at[0] if committed_at else None,
        accounts={a: AccountHeld(r, tuple(s), at) for a, r, s, at in sorted(rows)},
    )


def current_snapshot(settings: LakeSettings) -> Snapshot:
    """The lake's newest snapshot and the account releases it holds."""
    con = connect(settings, read_only=True)
    try:
        return read_snapshot(con)
    finally:
        con.close()
