"""Publish a release to PostgreSQL without ever blocking its readers.

Layout, for `postgres_schema` S (buildos_analytics):

    S.bi_<table>, S.release,     stable views, the only names BI tools use
    S.account_releases
    S__r<release>                the tables the views read: one per published mart (primary
                                 key account_id + the grain, indexes, comments), the release
                                 row, which release each account's rows are from
                                 (account_releases) and the digests of the tables without
                                 accounts (table_digests); named after the release that built it

Most publishes change a few accounts: each account whose release changed (the manifest's
`source` names every account's own release, from the fan-in's meta.account_releases; without
one, a digest of its rows says) has its rows in every table replaced in one short
transaction; removed accounts are deleted; the others are not touched
(pipeline/publish/postgres_accounts.py). A reader sees each account at its previous release
or its new one, whole.

When the table contract changes (a table or column added, removed or retyped, a key or a
description changed: the release's `contract` digest differs from the one the current
schema was built for), or on the first publish, the release is built whole in a new schema
beside the published one and the stable views are switched to it in one short transaction
that gives way to readers (pipeline/publish/postgres_switch.py); the replaced schema is
dropped after a grace period, never under readers.

Rows go in with COPY ... FROM STDIN (CSV); psycopg (3) is the driver: SQLAlchemy URLs look
like postgresql+psycopg://host/db.
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import duckdb
import orjson
import sqlalchemy as sa

from pipeline.publish.contract import PublicTable, comment_statements, public_tables, quote_literal
from pipeline.publish.exports import release_manifest
from pipeline.publish.postgres_accounts import (
    AccountRelease,
    AccountsBlocked,
    create_state,
    record_accounts,
    record_tables,
    release_accounts,
    replace_changed,
    shared_digests,
)
from pipeline.publish.postgres_rows import copy_rows, postgres_type, table_batches
from pipeline.publish.postgres_switch import (
    SwitchBlocked,
    SwitchPolicy,
    current_release_schema,
    drop_expired_releases,
    drop_schema,
    literal_sql,
    publish_lock,
    schema_stamp,
    set_lock_timeout,
    sqlstate,
    switch,
)

__all__ = [
    "AccountsBlocked",
    "SwitchBlocked",
    "SwitchPolicy",
    "current_release_schema",
    "postgres_type",
    "publish_release",
]

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
NOT_NULL_VIOLATION = "23502"
# Bump when the tables' layout changes in a way the manifest does not show (state tables,
# keys): the next publish then builds a new schema and switches to it.
LAYOUT_VERSION = 2
CONNECT_TIMEOUT_SECONDS = 10


def contract_digest(manifest: dict) -> str:
    """What the tables' DDL and comments depend on: every table's columns (name, type,
    description), description and key, the schema version and the layout."""
    keys = {t.name: list(table_key(t, column_names_of(manifest, t.name))) for t in public_tables()}
    contract = {
        "layout": LAYOUT_VERSION,
        "schema_version": manifest["schema_version"],
        "tables": {
            name: {
                "columns": spec["columns"],
                "description": spec["description"],
                "key": keys.get(name),
            }
            for name, spec in sorted(manifest["tables"].items())
        },
    }
    return hashlib.sha256(orjson.dumps(contract, option=orjson.OPT_SORT_KEYS)).hexdigest()


def column_names_of(manifest: dict, name: str) -> list[str]:
    spec = manifest["tables"].get(name)
    return [c["name"] for c in spec["columns"]] if spec else []


def table_key(table: PublicTable, names: list[str]) -> tuple[str, ...]:
    """The primary key: the .yml grain, led by account_id where the table has one."""
    key = tuple(c for c in table.key if c in names)
    if len(key) != len(table.key):
        return ()
    if "account_id" in names and "account_id" not in key:
        key = ("account_id", *key)
    return key


def release_schema(schema: str, release_id: str) -> str:
    """The schema that holds one release's tables: `<schema>__r<release id>`."""
    name = f"{schema}__r" + re.sub(r"[^a-z0-9]", "_", release_id.lower())
    if not IDENTIFIER.match(name) or len(name) > MAX_IDENTIFIER:
        raise ValueError(f"release schema name {name!r} is not a PostgreSQL identifier")
    return name


def publish_release(
    url: str, root: Path, release_id: str, schema: str, policy: SwitchPolicy | None = None
) -> dict:
    """Bring PostgreSQL to the release: per account when the current schema has the same
    contract, else built whole beside it and switched to; then drop schemas past their grace
    period. Raises AccountsBlocked when sessions held some accounts' rows through every
    attempt (those keep their previous release), SwitchBlocked when readers held the views
    through every attempt of a switch (the new schema is dropped; the previous one stays)."""
    if not IDENTIFIER.match(schema):
        raise ValueError(f"not a safe PostgreSQL schema name: {schema!r}")
    policy = policy or SwitchPolicy()
    manifest = release_manifest(root, release_id)
    release = root / "releases" / release_id
    contract = contract_digest(manifest)
    engine = sa.create_engine(
        url, future=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    started = time.perf_counter()
    deadline = time.monotonic() + policy.deadline_seconds
    result = {
        "schema": schema,
        "release_id": release_id,
        "tables": len(manifest["tables"]),
        "already_published": False,
    }
    try:
        with publish_lock(engine, schema, policy):
            with engine.connect() as connection:
                current = current_release_schema(connection, schema)
                stamp = schema_stamp(connection, current)
                published = _published_release(connection, current)
            reader = duckdb.connect()
            try:
                accounts = release_accounts(reader, release, manifest)
                shared = shared_digests(reader, release, manifest)
            finally:
                reader.close()
            if current is not None and stamp.get("contract") == contract:
                result |= _per_account(
                    engine,
                    current,
                    release,
                    manifest,
                    accounts,
                    shared,
                    published,
                    policy,
                    deadline,
                )
            else:
                result |= _whole(
                    engine, schema, current, release, manifest, accounts, shared, contract, policy
                )
            result["dropped_releases"] = drop_expired_releases(engine, schema, policy)
    finally:
        engine.dispose()
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def _published_release(connection: sa.Connection, current: str | None) -> str | None:
    """The release the last complete publish brought the current schema to."""
    if current is None:
        return None
    return connection.execute(sa.text(f"select release_id from {current}.release")).scalar_one()


def _per_account(
    engine: sa.Engine,
    current: str,
    release: Path,
    manifest: dict,
    accounts: dict[str, AccountRelease],
    shared: dict[str, str],
    published: str | None,
    policy: SwitchPolicy,
    deadline: float,
) -> dict:
    if published == manifest["release_id"]:
        return _nothing_done(current)
    outcome = replace_changed(
        engine, current, release, manifest, accounts, shared, policy, deadline
    )
    return _summary(
        "per_account",
        current,
        rows=outcome.rows,
        accounts_replaced=len(outcome.replaced),
        accounts_removed=len(outcome.removed),
        accounts_unchanged=outcome.unchanged,
        tables_replaced=len(outcome.tables_replaced),
        switch_attempts=outcome.attempts,
    )


def _whole(
    engine: sa.Engine,
    schema: str,
    current: str | None,
    release: Path,
    manifest: dict,
    accounts: dict[str, AccountRelease],
    shared: dict[str, str],
    contract: str,
    policy: SwitchPolicy,
) -> dict:
    target = release_schema(schema, manifest["release_id"])
    if current == target:
        # Already what readers see; rebuilding it would mean dropping it under them.
        return _nothing_done(current)
    rows, build_xid = _build(engine, release, manifest, target, accounts, shared, contract, policy)
    built = time.perf_counter()
    try:
        # On a first publish there is no release a reader's old snapshot could be on.
        waits_for = build_xid if current is not None else None
        attempts = switch(engine, schema, target, manifest, waits_for, policy)
    except SwitchBlocked:
        drop_schema(engine, target, policy)
        raise
    return _summary(
        "schema_switch",
        target,
        rows=rows,
        accounts_replaced=len(accounts),
        tables_replaced=len(manifest["tables"]),
        switch_seconds=round(time.perf_counter() - built, 3),
        switch_attempts=attempts,
    )


def _nothing_done(current: str | None) -> dict:
    return _summary("none", current, already_published=True)


def _summary(mode: str, release_schema: str | None, **figures) -> dict:
    """What a publish did, for its metadata: every count present, zero unless given."""
    counts = dict.fromkeys(
        ("rows", "accounts_replaced", "accounts_removed", "accounts_unchanged", "tables_replaced"),
        0,
    )
    return {
        "mode": mode,
        "release_schema": release_schema,
        **counts,
        "switch_seconds": 0.0,
        "switch_attempts": 0,
        **figures,
    }


def _build(
    engine: sa.Engine,
    release: Path,
    manifest: dict,
    target: str,
    accounts: dict[str, AccountRelease],
    shared: dict[str, str],
    contract: str,
    policy: SwitchPolicy,
) -> tuple[int, str]:
    """The release's schema, whole, in one transaction no reader waits for. Returns the rows
    copied and the transaction's id (the switch waits for snapshots older than it)."""
    tables = {t.name: t for t in public_tables()}
    reader = duckdb.connect()
    copied = 0
    try:
        with engine.begin() as connection:
            # A leftover of an earlier try at this release (never current: checked above).
            set_lock_timeout(connection, policy)
            connection.execute(sa.text(f"drop schema if exists {target} cascade"))
            connection.execute(sa.text("set local lock_timeout = 0"))
            connection.execute(sa.text(f"create schema {target}"))
            # The contract, so the next publish knows whether it can go per account.
            stamp = {
                "release_id": manifest["release_id"],
                "switched_at": None,
                "contract": contract,
            }
            literal_sql(
                connection,
                f"comment on schema {target} is {quote_literal(orjson.dumps(stamp).decode())}",
            )
            driver = connection.connection.driver_connection
            for name, spec in manifest["tables"].items():
                names = [c["name"] for c in spec["columns"]]
                types = {c["name"]: c["type"] for c in spec["columns"]}
                relation = f"{target}.{name}"
                ddl = ", ".join(f"{n} {postgres_type(types[n])}" for n in names)
                connection.execute(sa.text(f"create table {relation} ({ddl})"))
                copied += _copy_table(driver, reader, release, spec, relation)
                _add_keys(connection, tables[name], relation, names)
                for statement in comment_statements(tables[name], relation, names, "table"):
                    literal_sql(connection, statement)
            connection.execute(
                sa.text(
                    f"create table {target}.release as select "
                    "cast(:release_id as text) as release_id, "
                    "cast(:generated_at as timestamptz) as generated_at, "
                    "cast(:version as integer) as schema_version"
                ),
                {
                    "release_id": manifest["release_id"],
                    "generated_at": manifest["generated_at"],
                    "version": manifest["schema_version"],
                },
            )
            create_state(connection, target)
            record_accounts(connection, target, accounts, manifest)
            record_tables(connection, target, shared, manifest["release_id"])
            for name in [*manifest["tables"], "release", "account_releases"]:
                connection.execute(sa.text(f"analyze {target}.{name}"))
            xid = connection.execute(sa.text("select pg_current_xact_id()::text")).scalar_one()
    finally:
        reader.close()
    return copied, str(int(xid) % 2**32)  # pg_stat_activity shows 32-bit xids


def _add_keys(connection: sa.Connection, table: PublicTable, relation: str, names: list[str]):
    """The grain (led by account_id) as primary key, and the indexes BI filters need:
    (account_id, project_id, day_date) where the key does not lead with them, and day_date
    alone for date ranges. The key's lead, account_id, serves the per-account replace."""
    key = list(table_key(table, names))
    short = relation.split(".")[-1]
    if key:
        connection.execute(sa.text("savepoint primary_key"))
        try:
            connection.execute(
                sa.text(f"alter table {relation} add primary key ({', '.join(key)})")
            )
        except sa.exc.DBAPIError as error:
            if sqlstate(error) != NOT_NULL_VIOLATION:
                raise
            # A nullable grain column (nulls are a value of the grain here): unique instead.
            connection.execute(sa.text("rollback to savepoint primary_key"))
            connection.execute(
                sa.text(f"create unique index {short}_grain on {relation} ({', '.join(key)})")
            )
    elif "account_id" in names:
        connection.execute(sa.text(f"create index {short}_by_account on {relation} (account_id)"))
    wanted = [c for c in ("account_id", "project_id", "day_date") if c in names]
    if "project_id" in wanted and key[: len(wanted)] != wanted:
        connection.execute(
            sa.text(f"create index {short}_by_project on {relation} ({', '.join(wanted)})")
        )
    if "day_date" in names and key[:1] != ["day_date"]:
        connection.execute(sa.text(f"create index {short}_by_day on {relation} (day_date)"))


def _copy_table(
    driver, reader: duckdb.DuckDBPyConnection, release: Path, spec: dict, relation: str
) -> int:
    names = [c["name"] for c in spec["columns"]]
    return copy_rows(driver, relation, names, table_batches(reader, release, spec))
