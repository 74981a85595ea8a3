"""The shared layer: every account's current hand-off (pipeline/handoff.py) in one DuckDB file,
the marts the publish steps read. One writer (the fan-in step) commits every changed account
in one transaction, so a reader of the file sees all of one fan-in or none of it; an account
that was not released again keeps its rows; an account no longer registered loses them.

`meta.account_releases` says which release, and so which sync, each account's rows are from.
Tables without account_id (the calendar) hold the distinct rows of every account's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline import handoff, safety

RELEASES_DDL = [
    "create schema if not exists meta",
    "create schema if not exists marts",
    "create table if not exists meta.account_releases (account_id varchar primary key, "
    "release_id varchar not null, sync_id varchar, sync_status varchar, sync_mode varchar, "
    "as_of_at timestamptz, sync_finished_at timestamptz, released_at timestamptz, "
    "loaded_at timestamptz not null)",
    # The lake snapshot the shared file was loaded beside: every output of a publish names it.
    "create table if not exists meta.lake_snapshot (snapshot_id bigint, committed_at timestamptz)",
]


@dataclass(frozen=True)
class FanIn:
    loaded: list[str]  # accounts whose newer release was loaded
    removed: list[str]  # accounts no longer registered, whose rows were deleted
    unreleased: list[str]  # registered accounts with no release yet
    tables: dict[str, int]  # rows per shared table afterwards


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _files(paths: list[Path]) -> str:
    return "[" + ", ".join(_literal(p) for p in paths) + "]"


def fan_in(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    account_ids: Sequence[str],
    lake_snapshot: tuple[int, object] | None = None,
) -> FanIn:
    """Bring the shared file up to the current release of every account in `account_ids`
    (their folders are <root>/accounts/<id>), noting the lake snapshot (id, committed at)
    that holds the same releases."""
    for statement in RELEASES_DDL:
        con.execute(statement)
    held = dict(con.execute("select account_id, release_id from meta.account_releases").fetchall())
    manifests = {}
    unreleased = []
    for account_id in account_ids:
        manifest = handoff.current(safety.account_root(root, account_id))
        if manifest is None:
            unreleased.append(account_id)
        else:
            manifests[account_id] = manifest
    changed = [a for a, m in manifests.items() if held.get(a) != m["release_id"]]
    removed = sorted(a for a in held if a not in set(account_ids))
    if changed or removed or lake_snapshot is not None:
        con.execute("begin")
        try:
            _replace(con, root, manifests, changed, removed)
            if lake_snapshot is not None:
                con.execute("delete from meta.lake_snapshot")
                con.execute("insert into meta.lake_snapshot values (?, ?)", list(lake_snapshot))
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    tables = {
        name: con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
    }
    return FanIn(changed, removed, unreleased, tables)


def _replace(con, root: Path, manifests: dict, changed: list[str], removed: list[str]) -> None:
    existing = {
        name
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()
    }
    names = sorted({t for m in manifests.values() for t in m["tables"]})
    gone = sorted(existing - set(names)) if manifests else []
    for name in gone:
        con.execute(f"drop table marts.{name}")
    for name in names:
        safety_name = _identifier(name)
        holders = [a for a, m in manifests.items() if name in m["tables"]]
        per_account = all(manifests[a]["tables"][name]["per_account"] for a in holders)
        folder = {a: safety.account_root(root, a) for a in holders}
        if name in existing and _columns_changed(con, name, folder, manifests, changed):
            con.execute(f"drop table marts.{safety_name}")  # a column came or went: reload all
            existing.discard(name)
        reload = (
            holders
            if (not per_account or name not in existing)
            else [a for a in changed if a in holders]
        )
        files = [handoff.table_path(folder[a], manifests[a], name) for a in reload]
        if name not in existing:
            con.execute(
                f"create table marts.{safety_name} as select * from "
                f"read_parquet({_files(files[:1])}) limit 0"
            )
        elif not per_account:
            con.execute(f"delete from marts.{safety_name}")
        else:
            con.execute(
                f"delete from marts.{safety_name} where account_id in (select unnest(?))",
                [changed + removed],
            )
        if files:
            distinct = "" if per_account else "distinct "
            con.execute(
                f"insert into marts.{safety_name} by name select {distinct}* from "
                f"read_parquet({_files(files)}, union_by_name = true)"
            )
    now = datetime.now(UTC)
    con.execute(
        "delete from meta.account_releases where account_id in (select unnest(?))",
        [changed + removed],
    )
    for account_id in changed:
        m = manifests[account_id]
        con.execute(
            "insert into meta.account_releases values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                account_id,
                m["release_id"],
                m["sync_id"],
                m["sync_status"],
                m.get("sync_mode"),
                m.get("as_of_at"),
                m["sync_finished_at"],
                m["released_at"],
                now,
            ],
        )


def _columns_changed(con, name: str, folder: dict, manifests: dict, changed: list[str]) -> bool:
    table = [
        c
        for (c,) in con.execute(
            "select column_name from duckdb_columns() where schema_name = 'marts' "
            "and table_name = ? order by column_index",
            [name],
        ).fetchall()
    ]
    for account_id in changed:
        if account_id not in folder:
            continue
        path = handoff.table_path(folder[account_id], manifests[account_id], name)
        columns = [
            row[0]
            for row in con.execute(
                f"describe select * from read_parquet({_literal(path)})"
            ).fetchall()
        ]
        if columns != table:
            return True
    return False


def _identifier(name: str) -> str:
    from pipeline.warehouse import IDENTIFIER

    if not IDENTIFIER.match(name):
        raise ValueError(f"not a safe table name in a hand-off manifest: {name!r}")
    return name
