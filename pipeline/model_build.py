"""Building the models so that cost follows what changed: each model is rebuilt only for the
accounts whose inputs changed since it was last built, and a refresh that changed nothing
rebuilds nothing.

An account's inputs are summed up in one fingerprint (`meta.account_fingerprints`): per source
table a staging model reads, its rows for the account (payload_hash and removal, or the
model's own `fingerprint:` expression). Each built model keeps, per account, the version it
was built from (`meta.model_state`): a hash of its SQL and of the versions of what it read, so
a model is stale for an account exactly when something upstream of it changed for that
account, or its SQL did. A stale account is deleted from the table and recomputed by the
model's own SQL over views of its inputs that hold only the stale accounts, so the work is
proportional to those accounts' data. The same build, one account per DuckDB file, is what a
partition of that account runs.
"""

from __future__ import annotations

import hashlib
import os
import time
import weakref
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.models import (
    LAYERS,
    Model,
    load_models,
)

ALL_ACCOUNTS = "*"  # the state key of a model or source without account_id
SCOPE = "account_scope"  # prefix of the in-memory catalogs holding the stale accounts' views
CATALOG = "warehouse"
STATE_DDL = [
    "create schema if not exists meta",
    "create table if not exists meta.model_state (model varchar not null, "
    "account_id varchar not null, version varchar not null, built_at timestamptz not null, "
    "primary key (model, account_id))",
    "create table if not exists meta.account_fingerprints (account_id varchar primary key, "
    "fingerprint varchar not null, computed_at timestamptz not null)",
]
# What identifies a row's content in a landed table (the sync's own columns). The payload
# hash covers the record's id, so the id is not hashed again (it would double the strings read).
IDENTITY_COLUMNS = ("payload_hash", "_removed_at", "valid_from", "valid_to")


@dataclass(frozen=True)
class BuildResult:
    relation: str
    mode: str  # full, accounts (some accounts recomputed), unchanged, view
    rows: int | None
    accounts_rebuilt: int
    accounts_removed: int
    seconds: float = 0.0  # wall time of the build call, deciding included


def default_memory_limit() -> str:
    """An eighth of the machine's memory (at least 1 GiB): a build shares the machine, and
    DuckDB spills to its temp directory rather than go past the limit. The limit is shared by
    the models built side by side: with a quarter, two large ones at once took 4.2 GB at 949k
    tasks (one at a time 3.3 GB); with an eighth, 3.6 GB, and the build no slower than the
    noise (docs/benchmarks.md)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(total // 8, 1 << 30) // (1 << 20)}MiB"


def configure(
    con: duckdb.DuckDBPyConnection,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
) -> None:
    """Bound the build's memory. The temp directory defaults to DuckDB's own convention (beside
    the database file); an in-memory connection would otherwise spill into the working
    directory. FSST string compression is left out: trying it on every string column was a
    third of writing a model table, for little on ids (dictionary compression still takes the
    repeated strings: account ids, states, kinds)."""
    con.execute("set memory_limit = ?", [memory_limit or default_memory_limit()])
    con.execute("set disabled_compression_methods = 'fsst'")
    if temp_directory is None:
        ((path,),) = con.execute(
            "select path from duckdb_databases() where database_name = ?", [CATALOG]
        ).fetchall()
        temp_directory = f"{path}.tmp"
    con.execute("set temp_directory = ?", [str(temp_directory)])
    if threads:
        con.execute("set threads = ?", [threads])


def _digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:32]


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str] | None:
    schema, table = relation.split(".")
    rows = con.execute(
        "select column_name from duckdb_columns() where database_name = ? "
        "and schema_name = ? and table_name = ? order by column_index",
        [CATALOG, schema, table],
    ).fetchall()
    return [r[0] for r in rows] or None


def _fingerprint_select(relation: str, columns: list[str], expression: str | None) -> str:
    """The query of (account_id, fingerprint) over a source table with account_id: by default
    a landed table's row count and its rows' content hashes (anything else: every column)."""
    if expression is None:
        landed = "payload_hash" in columns
        identity = [c for c in IDENTITY_COLUMNS if c in columns]
        hashed = f"hash({', '.join(identity)})" if landed else "hash(t)"
        expression = f"count(*) || ':' || bit_xor({hashed})"
    return (
        f"select account_id, cast(({expression}) as varchar) from {relation} as t "
        "where account_id is not null group by account_id"
    )


def _source_fingerprints(
    con: duckdb.DuckDBPyConnection, relation: str, expression: str | None
) -> dict[str, str]:
    """Per account, what a source table holds for it (or, without account_id, the whole
    table under ALL_ACCOUNTS)."""
    columns = _columns(con, relation)
    if columns is None:
        return {}
    if "account_id" not in columns:
        ((value,),) = con.execute(f"select bit_xor(hash(t)) from {relation} as t").fetchall()
        return {ALL_ACCOUNTS: str(value)}
    rows = con.execute(_fingerprint_select(relation, columns, expression)).fetchall()
    return {account: str(value) for account, value in rows}


def account_fingerprints(
    con: duckdb.DuckDBPyConnection, models: tuple[Model, ...] | None = None
) -> dict[str, str]:
    """One fingerprint per account over every source table with account_id the models read
    (the others, the settings tables, version the models that read them directly). One query
    over all the tables, so DuckDB scans them side by side."""
    columns = dict(
        con.execute(
            "select schema_name || '.' || table_name, list(column_name) from duckdb_columns() "
            "where database_name = ? group by all",
            [CATALOG],
        ).fetchall()
    )
    selects: dict[str, str] = {}
    for model in models or load_models():
        for schema, table in model.refs:
            relation = f"{schema}.{table}"
            key = f"{relation}|{model.fingerprint}"
            if schema in LAYERS or key in selects or "account_id" not in columns.get(relation, []):
                continue
            select = _fingerprint_select(relation, columns[relation], model.fingerprint)
            selects[key] = f"select ? as source, * from ({select})"
    keys = sorted(selects)
    per_source: dict[str, dict[str, str]] = {key: {} for key in keys}
    if keys:
        query = " union all ".join(selects[key] for key in keys)
        for key, account, value in con.execute(query, keys).fetchall():
            per_source[key][account] = str(value)
    accounts = sorted({a for values in per_source.values() for a in values})
    return {a: _digest(*(f"{k}={per_source[k].get(a, '')}" for k in keys)) for a in accounts}


def write_account_fingerprints(
    con: duckdb.DuckDBPyConnection, fingerprints: dict[str, str]
) -> None:
    """Replace the stored fingerprints (left as they are when equal: a no-change refresh
    writes nothing)."""
    for statement in STATE_DDL:
        con.execute(statement)
    stored = con.execute("select account_id, fingerprint from meta.account_fingerprints")
    if dict(stored.fetchall()) == fingerprints:
        return
    now = datetime.now(UTC)
    con.execute("begin")
    con.execute("delete from meta.account_fingerprints")
    con.executemany(
        "insert into meta.account_fingerprints values (?, ?, ?)",
        [(a, f, now) for a, f in sorted(fingerprints.items())],
    )
    con.execute("commit")
    catalog = _CATALOGS.get(con)
    if catalog is not None:
        catalog.fingerprints = dict(fingerprints)


@dataclass
class _Catalog:
    """What the builds on one connection decide from: the recorded versions, the account
    fingerprints, the relations' columns and the model tables' row counts. Read in a few
    queries on a connection's first build and kept up to date by the builds themselves (this
    module is the only writer of meta.model_state and meta.account_fingerprints), so a model
    that is up to date costs no query at all: that is the no-change refresh."""

    fingerprints: dict[str, str]
    states: dict[str, dict[str, str]]  # model -> account -> version
    columns: dict[str, list[str]]  # relation -> its columns, for every relation that exists
    rows: dict[str, int] = field(default_factory=dict)  # model table -> row count


_CATALOGS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, _Catalog] = (
    weakref.WeakKeyDictionary()
)


def _catalog(con: duckdb.DuckDBPyConnection) -> _Catalog:
    catalog = _CATALOGS.get(con)
    if catalog is not None:
        return catalog
    for statement in STATE_DDL:
        con.execute(statement)
    columns: dict[str, list[str]] = {
        relation: names
        for relation, names in con.execute(
            "select schema_name || '.' || table_name, list(column_name order by column_index) "
            "from duckdb_columns() where database_name = ? group by all",
            [CATALOG],
        ).fetchall()
    }
    states: dict[str, dict[str, str]] = {}
    for model, account, version in con.execute(
        "select model, account_id, version from meta.model_state"
    ).fetchall():
        states.setdefault(model, {})[account] = version
    fingerprints = dict(
        con.execute("select account_id, fingerprint from meta.account_fingerprints").fetchall()
    )
    catalog = _Catalog(fingerprints, states, columns)
    tables = [
        m.relation
        for m in load_models()
        if m.materialization == "table" and m.relation in columns and m.name in states
    ]
    if tables:
        counts = " union all ".join(
            f"select '{relation}', count(*) from {relation}" for relation in tables
        )
        catalog.rows = dict(con.execute(counts).fetchall())
    _CATALOGS[con] = catalog
    return catalog


def _source_columns(con: duckdb.DuckDBPyConnection, catalog: _Catalog, relation: str):
    """A source table's columns (looked up again when it was missing: the sync or the
    settings assets may have created it since)."""
    if relation not in catalog.columns:
        found = _columns(con, relation)
        if found is None:
            return None
        catalog.columns[relation] = found
    return catalog.columns[relation]


def _versions(con: duckdb.DuckDBPyConnection, catalog: _Catalog, model: Model) -> dict[str, str]:
    """The version each account of the model would be built from now."""
    models = {m.name: m for m in load_models()}
    parts: list[dict[str, str]] = []
    for schema, table in model.refs:
        upstream = models.get(table) if schema in LAYERS else None
        if upstream is None:
            relation = f"{schema}.{table}"
            if "account_id" in (_source_columns(con, catalog, relation) or []):
                parts.append(catalog.fingerprints)
            else:
                parts.append(_source_fingerprints(con, relation, model.fingerprint))
        elif upstream.is_calendar:
            parts.append({ALL_ACCOUNTS: _digest(upstream.sql)})
        else:
            parts.append(catalog.states.get(table, {}))
    code = _digest(model.sql, model.materialization)
    if not model.is_per_account:
        flat = sorted(f"{i}:{a}={v}" for i, p in enumerate(parts) for a, v in p.items())
        return {ALL_ACCOUNTS: _digest(code, *flat)}
    accounts = sorted({a for p in parts for a in p} - {ALL_ACCOUNTS})
    return {a: _digest(code, *(p.get(a, p.get(ALL_ACCOUNTS, "")) for p in parts)) for a in accounts}


def _record(
    con: duckdb.DuckDBPyConnection, model: Model, versions: dict[str, str], drop: list[str]
) -> None:
    now = datetime.now(UTC)
    target = f"{CATALOG}.meta.model_state"
    gone = sorted({*versions, *drop})
    if gone:
        con.execute(
            f"delete from {target} where model = ? and account_id in (select unnest(?))",
            [model.name, gone],
        )
    if versions:
        # one statement, however many accounts (an executemany runs one insert per account)
        accounts = sorted(versions)
        con.execute(
            f"insert into {target} select ?, unnest(?), unnest(?), ?",
            [model.name, accounts, [versions[a] for a in accounts], now],
        )


def _row_count(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    return con.execute(f"select count(*) from {CATALOG}.{model.relation}").fetchall()[0][0]


def _scope(model: Model) -> str:
    """The model's own in-memory catalog of scoped views: attached catalogs are shared by every
    cursor of the database, and models are built side by side."""
    return f"{SCOPE}_{model.name}"


def _scope_views(con: duckdb.DuckDBPyConnection, model: Model, accounts: list[str]) -> None:
    """Views of the model's inputs that hold only `accounts`, in the model's in-memory scope
    catalog under the same schema and table names, so the model's own SQL runs over them
    unchanged."""
    scope = _scope(model)
    con.execute(f"create table {scope}.main.scope_accounts (account_id varchar)")
    con.executemany(f"insert into {scope}.main.scope_accounts values (?)", [(a,) for a in accounts])
    for schema, table in model.refs:
        con.execute(f"create schema if not exists {scope}.{schema}")
        only = (
            f" where account_id in (select account_id from {scope}.main.scope_accounts)"
            if "account_id" in (_columns(con, f"{schema}.{table}") or [])
            else ""
        )
        con.execute(
            f"create view {scope}.{schema}.{table} as "
            f"select * from {CATALOG}.{schema}.{table}{only}"
        )


def _rebuild_accounts(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    versions: dict[str, str],
    removed: list[str],
) -> None:
    """Delete the accounts' rows and recompute them, in one transaction with their new
    versions: readers see the old rows or the new ones."""
    if not versions:  # only accounts that are gone
        con.execute("begin")
        con.execute(
            f"delete from {model.relation} where account_id in (select unnest(?))", [removed]
        )
        _record(con, model, {}, removed)
        con.execute("commit")
        return
    scope = _scope(model)
    con.execute(f"attach ':memory:' as {scope}")
    try:
        _scope_views(con, model, sorted(versions))
        con.execute("begin")
        try:
            con.execute(
                f"delete from {CATALOG}.{model.relation} where account_id in (select unnest(?))",
                [sorted({*versions, *removed})],
            )
            con.execute(f"use {scope}")
            con.execute(f"insert into {CATALOG}.{model.relation} by name\n{model.sql}")
            con.execute(f"use {CATALOG}")
            _record(con, model, versions, removed)
            con.execute("commit")
        except BaseException:
            con.execute(f"use {CATALOG}")
            con.execute("rollback")
            raise
    finally:
        con.execute(f"detach {scope}")


def build(con: duckdb.DuckDBPyConnection, model: Model, full: bool = False) -> BuildResult:
    """Bring one model up to date with what it reads (all of it when `full`). A model already
    up to date is "unchanged", a view too: its checks would read what they read last time."""
    started = time.perf_counter()
    result = _build(con, model, full)
    return replace(result, seconds=time.perf_counter() - started)


def _build(con: duckdb.DuckDBPyConnection, model: Model, full: bool) -> BuildResult:
    catalog = _catalog(con)
    versions = _versions(con, catalog, model)
    stored = {} if full else catalog.states.get(model.name, {})
    exists = model.relation in catalog.columns
    stale = [a for a, v in versions.items() if stored.get(a) != v]
    removed = [a for a in stored if a not in versions]
    if exists and not stale and not removed:
        rows = catalog.rows.get(model.relation) if model.materialization == "table" else None
        return BuildResult(model.relation, "unchanged", rows, 0, 0)
    con.execute(f"create schema if not exists {model.schema}")
    if model.materialization == "view":
        con.execute("begin")
        con.execute(f"create or replace view {model.relation} as\n{model.sql}")
        _record(con, model, versions, list(stored))
        con.execute("commit")
        _built(con, catalog, model, versions, None)
        return BuildResult(model.relation, "view", None, 0, 0)
    if not exists or not model.is_per_account or len(stale) == len(versions):
        con.execute("begin")
        con.execute(f"create or replace table {model.relation} as\n{model.sql}")
        con.execute("delete from meta.model_state where model = ?", [model.name])
        _record(con, model, versions, [])
        con.execute("commit")
        rows = _built(con, catalog, model, versions, _row_count(con, model))
        return BuildResult(model.relation, "full", rows, len(versions), 0)
    _rebuild_accounts(con, model, {a: versions[a] for a in stale}, removed)
    rows = _built(con, catalog, model, versions, _row_count(con, model))
    return BuildResult(model.relation, "accounts", rows, len(stale), len(removed))


def _built(
    con: duckdb.DuckDBPyConnection,
    catalog: _Catalog,
    model: Model,
    versions: dict[str, str],
    rows: int | None,
) -> int | None:
    """Note in the catalog what a committed build wrote."""
    catalog.states[model.name] = dict(versions)
    if model.relation not in catalog.columns:
        catalog.columns[model.relation] = _columns(con, model.relation) or []
    if rows is not None:
        catalog.rows[model.relation] = rows
    return rows


def build_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A connection of its own to the same database, as `con` is set up (a cursor starts in
    the in-memory catalog and the machine's time zone), sharing `con`'s build catalog."""
    cursor = con.cursor()
    cursor.execute(f"use {CATALOG}")
    ((zone,),) = con.execute("select current_setting('TimeZone')").fetchall()
    cursor.execute("set TimeZone = ?", [zone])
    _CATALOGS[cursor] = _catalog(con)
    return cursor
