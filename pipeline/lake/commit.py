"""The fan-in commit: every released account's marts into the lake in ONE DuckLake transaction,
so a reader sees all of one fan-in or none of it. Concurrent per-account commits into shared
tables conflict in DuckLake (docs/scaleout.md, "The shared lake"), hence one writer.

Per table: the named accounts' rows are deleted and their hand-off files inserted (a table is
created on first sight; a column a file adds is added to the table); the removed accounts'
rows are deleted. Tables without account_id (the calendar) hold the distinct rows of every
account's files. Accounts not named keep their rows.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline import safety
from pipeline.lake.connect import connect
from pipeline.lake.settings import LakeSettings
from pipeline.lake.snapshots import RELEASES_DDL, RELEASES_TABLE, Snapshot, read_snapshot
from pipeline.lake.views import views_missing, write_views_in
from pipeline.warehouse import IDENTIFIER

SCHEMA = "marts"
AUTHOR = "buildos-analytics fan-in"


@dataclass(frozen=True)
class AccountRelease:
    """One account's hand-off: mart table name -> that account's Parquet file, and the syncs
    (and release) the marts were built from."""

    account_id: str
    tables: Mapping[str, Path]
    sync_ids: Sequence[str] = ()
    release_id: str | None = None


@dataclass(frozen=True)
class _Plan:
    releases: dict[str, AccountRelease]
    removed: list[str]
    tables: list[str] = field(default_factory=list)

    @property
    def replaced(self) -> list[str]:
        return sorted(self.releases) + self.removed


def _plan(releases: Mapping[str, AccountRelease], removed: Sequence[str]) -> _Plan:
    checked = {}
    for key, release in releases.items():
        account = safety.account_id(key)
        if safety.account_id(release.account_id) != account:
            raise ValueError(f"release of {release.account_id} filed under account {account}")
        for name in release.tables:
            if not IDENTIFIER.match(name):
                raise ValueError(f"account {account}: not a safe table name {name!r}")
        checked[account] = release
    gone = sorted({safety.account_id(a) for a in removed})
    both = set(gone) & set(checked)
    if both:
        raise ValueError(f"accounts both released and removed: {', '.join(sorted(both))}")
    names = sorted({name for release in checked.values() for name in release.tables})
    return _Plan(checked, gone, names)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_columns(con, alias: str, name: str) -> dict[str, str] | None:
    rows = con.execute(
        "select column_name, data_type from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? order by column_index",
        [alias, SCHEMA, name],
    ).fetchall()
    return dict(rows) if rows else None


def _file_columns(con, files: list[str]) -> dict[str, str]:
    rows = con.execute(
        "describe select * from read_parquet(?, union_by_name = true)", [files]
    ).fetchall()
    return {row[0]: row[1] for row in rows}


def _check_owners(con, name: str, files: dict[str, str]) -> None:
    """Every row of an account's file carries that account's id: one account's hand-off never
    writes another's rows."""
    strays = con.execute(
        "select filename, any_value(account_id) from read_parquet(?, filename = true, "
        "union_by_name = true) group by filename, account_id",
        [list(files.values())],
    ).fetchall()
    owner = {path: account for account, path in files.items()}
    for filename, account_id in strays:
        if owner.get(filename) != account_id:
            raise ValueError(
                f"{name}: {filename} (account {owner.get(filename)}) holds rows of account "
                f"{account_id!r}; refusing to commit them"
            )


def _replace_table(con, alias: str, plan: _Plan, name: str) -> bool:
    """Returns whether the table was created or given a column (its views need writing)."""
    holders = {a: str(r.tables[name]) for a, r in plan.releases.items() if name in r.tables}
    files = list(holders.values())
    incoming = _file_columns(con, files)
    relation = f"{alias}.{SCHEMA}.{name}"
    columns = _table_columns(con, alias, name)
    reshaped = columns is None
    if columns is None:
        con.execute(
            f"create table {relation} as select * from read_parquet(?, union_by_name = true) "
            "limit 0",
            [files],
        )
        columns = incoming
    for column, data_type in incoming.items():
        if column not in columns:
            con.execute(f"alter table {relation} add column {_quote(column)} {data_type}")
            reshaped = True
    if "account_id" in incoming:
        _check_owners(con, name, holders)
        con.execute(
            f"delete from {relation} where account_id in (select unnest(?))", [plan.replaced]
        )
        con.execute(
            f"insert into {relation} by name select * from read_parquet(?, union_by_name = true)",
            [files],
        )
    else:
        listed = ", ".join(_quote(c) for c in incoming)
        con.execute(
            f"insert into {relation} ({listed}) select distinct {listed} from read_parquet(?, "
            f"union_by_name = true) except select {listed} from {relation}",
            [files],
        )
    return reshaped


def _clear_accounts(con, alias: str, plan: _Plan, name: str) -> None:
    """A table no release of this commit names: the named and removed accounts lose their rows
    in it (their release no longer has it)."""
    columns = _table_columns(con, alias, name) or {}
    if "account_id" in columns:
        con.execute(
            f"delete from {alias}.{SCHEMA}.{name} where account_id in (select unnest(?))",
            [plan.replaced],
        )


def _record(con, alias: str, plan: _Plan) -> None:
    con.execute(f"create schema if not exists {alias}.meta")
    con.execute(RELEASES_DDL.format(alias=alias))
    con.execute(
        f"delete from {alias}.{RELEASES_TABLE} where account_id in (select unnest(?))",
        [plan.replaced],
    )
    now = datetime.now(UTC)
    for account, release in sorted(plan.releases.items()):
        con.execute(
            f"insert into {alias}.{RELEASES_TABLE} by name select ? as account_id, "
            "? as release_id, ?::varchar[] as sync_ids, ? as loaded_at",
            [account, release.release_id, [str(s) for s in release.sync_ids], now],
        )
    message = f"{len(plan.releases)} account(s) released, {len(plan.removed)} removed"
    released = {a: [str(s) for s in r.sync_ids] for a, r in plan.releases.items()}
    extra = json.dumps({"released": released, "removed": plan.removed})
    con.execute(f"call {alias}.set_commit_message(?, ?, extra_info => ?)", [AUTHOR, message, extra])


def commit_in(
    con: duckdb.DuckDBPyConnection, plan: _Plan, alias: str = "lake", bi_views: bool = False
) -> None:
    """The plan's changes in one transaction on con (the lake attached writable as alias);
    with bi_views, the lake's bi views too, when a table came or changed shape or a view is
    missing (else the views already read the tables as they are)."""
    con.execute("begin")
    try:
        con.execute(f"create schema if not exists {alias}.{SCHEMA}")
        existing = {
            n
            for (n,) in con.execute(
                "select table_name from duckdb_tables() where database_name = ? "
                "and schema_name = ?",
                [alias, SCHEMA],
            ).fetchall()
        }
        reshaped = False
        for name in plan.tables:
            reshaped |= _replace_table(con, alias, plan, name)
        for name in sorted(existing - set(plan.tables)):
            _clear_accounts(con, alias, plan, name)
        if bi_views and (reshaped or views_missing(con, alias)):
            write_views_in(con, alias)
        _record(con, alias, plan)
        con.execute("commit")
    except BaseException:
        with contextlib.suppress(duckdb.TransactionException):  # a failed commit rolled back
            con.execute("rollback")
        raise


def commit_with(
    con: duckdb.DuckDBPyConnection,
    releases: Mapping[str, AccountRelease],
    removed: Sequence[str] = (),
    *,
    alias: str = "lake",
    bi_views: bool = False,
) -> Snapshot:
    """commit_accounts on a connection that has the lake attached writable as `alias`."""
    plan = _plan(releases, removed)
    if plan.releases or plan.removed:
        commit_in(con, plan, alias, bi_views)
    return read_snapshot(con, alias)


def commit_accounts(
    settings: LakeSettings,
    releases: Mapping[str, AccountRelease],
    removed: Sequence[str] = (),
    *,
    bi_views: bool = False,
) -> Snapshot:
    """Replace the released accounts' rows in every lake table and delete the removed accounts'
    rows, in one commit (with the bi views, if asked: pipeline/lake/views.py); returns the
    snapshot it made (or the current one if there was nothing to do). Account ids must be
    UUIDs."""
    _plan(releases, removed)  # refused before anything is attached
    con = connect(settings, read_only=False)
    try:
        return commit_with(con, releases, removed, bi_views=bi_views)
    finally:
        con.close()
