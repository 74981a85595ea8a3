"""Publish a release to PostgreSQL without ever blocking its readers.

Layout, for `postgres_schema` S (buildos_analytics):

    S.bi_<table>, S.release      stable views, the only names BI tools use
    S__r<release>                one schema per release: its tables (primary keys, indexes,
                                 comments, ANALYZEd) and its release row; never changed

A publish builds the new release's schema beside the old one and commits it (readers see
nothing of it yet), then switches: one short transaction, under `lock_timeout`, that repoints
every stable view at the new schema. A reader whose transaction has read a view holds a lock
that the switch waits for no longer than `lock_timeout`; then the switch gives way and retries
with backoff, so new readers queue behind it for at most `lock_timeout` too. A repeatable-read
transaction older than the new release's data could find its tables empty, so the switch also
waits until no session holds such an old snapshot. Readers see the old release or the new
one, whole. Old release schemas are dropped once the release after them has been current for
`grace_seconds`.

Rows go in with COPY ... FROM STDIN (CSV); psycopg (3) is the driver: SQLAlchemy URLs look
like postgresql+psycopg://host/db.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from pipeline.publish.contract import PublicTable, comment_statements, public_tables, quote_literal
from pipeline.publish.exports import release_manifest
from pipeline.publish.postgres_switch import (
    SwitchBlocked,
    SwitchPolicy,
    current_release_schema,
    drop_expired_releases,
    drop_schema,
    literal_sql,
    set_lock_timeout,
    sqlstate,
    switch,
)

__all__ = ["SwitchBlocked", "SwitchPolicy", "current_release_schema", "publish_release"]

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
MAX_IDENTIFIER = 63  # PostgreSQL's NAMEDATALEN - 1
COPY_CHUNK_ROWS = 50_000
NOT_NULL_VIOLATION = "23502"


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB one; nested values travel as jsonb."""
    kind = duckdb_type.upper()
    if kind.endswith("[]") or kind.startswith(("STRUCT", "MAP", "LIST", "JSON")):
        return "jsonb"
    if kind.startswith("DECIMAL"):
        return kind.lower().replace("decimal", "numeric")
    return {
        "VARCHAR": "text",
        "BIGINT": "bigint",
        "INTEGER": "integer",
        "SMALLINT": "smallint",
        "TINYINT": "smallint",
        "HUGEINT": "numeric",
        "UBIGINT": "numeric",
        "UINTEGER": "bigint",
        "DOUBLE": "double precision",
        "FLOAT": "real",
        "BOOLEAN": "boolean",
        "DATE": "date",
        "TIMESTAMP": "timestamp",
        "TIMESTAMP WITH TIME ZONE": "timestamptz",
        "INTERVAL": "interval",
        "UUID": "uuid",
    }.get(kind, "text")


def release_schema(schema: str, release_id: str) -> str:
    """The schema that holds one release's tables: `<schema>__r<release id>`."""
    name = f"{schema}__r" + re.sub(r"[^a-z0-9]", "_", release_id.lower())
    if not IDENTIFIER.match(name) or len(name) > MAX_IDENTIFIER:
        raise ValueError(f"release schema name {name!r} is not a PostgreSQL identifier")
    return name


def publish_release(
    url: str, root: Path, release_id: str, schema: str, policy: SwitchPolicy | None = None
) -> dict:
    """Build the release beside the published one, switch the stable views to it, drop
    releases past their grace period. Raises SwitchBlocked when readers held the views for
    every attempt (the new schema is dropped; the previous release stays published)."""
    if not IDENTIFIER.match(schema):
        raise ValueError(f"not a safe PostgreSQL schema name: {schema!r}")
    policy = policy or SwitchPolicy()
    manifest = release_manifest(root, release_id)
    target = release_schema(schema, release_id)
    engine = sa.create_engine(url, future=True)
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            current = current_release_schema(connection, schema)
        if current == target:
            # Already what readers see; rebuilding it would mean dropping it under them.
            return {
                "schema": schema,
                "release_schema": target,
                "release_id": release_id,
                "tables": len(manifest["tables"]),
                "rows": 0,
                "seconds": 0.0,
                "switch_seconds": 0.0,
                "switch_attempts": 0,
                "dropped_releases": [],
                "already_published": True,
            }
        rows, build_xid = _build(engine, root / "releases" / release_id, manifest, target, policy)
        built = time.perf_counter()
        try:
            attempts = switch(engine, schema, target, manifest, build_xid, policy)
        except SwitchBlocked:
            drop_schema(engine, target, policy)
            raise
        dropped = drop_expired_releases(engine, schema, policy)
    finally:
        engine.dispose()
    return {
        "schema": schema,
        "release_schema": target,
        "already_published": False,
        "tables": len(manifest["tables"]),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "switch_seconds": round(time.perf_counter() - built, 3),
        "switch_attempts": attempts,
        "dropped_releases": dropped,
        "release_id": release_id,
    }


def _build(
    engine: sa.Engine, release: Path, manifest: dict, target: str, policy: SwitchPolicy
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
            stamp = orjson.dumps({"release_id": manifest["release_id"], "switched_at": None})
            literal_sql(
                connection, f"comment on schema {target} is {quote_literal(stamp.decode())}"
            )
            driver = connection.connection.driver_connection
            for name, spec in manifest["tables"].items():
                names = [c["name"] for c in spec["columns"]]
                types = {c["name"]: c["type"] for c in spec["columns"]}
                relation = f"{target}.{name}"
                ddl = ", ".join(f"{n} {postgres_type(types[n])}" for n in names)
                connection.execute(sa.text(f"create table {relation} ({ddl})"))
                copied += _copy_table(driver, reader, release / spec["path"], spec, relation)
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
            for name in [*manifest["tables"], "release"]:
                connection.execute(sa.text(f"analyze {target}.{name}"))
            xid = connection.execute(sa.text("select pg_current_xact_id()::text")).scalar_one()
    finally:
        reader.close()
    return copied, str(int(xid) % 2**32)  # pg_stat_activity shows 32-bit xids


def _add_keys(connection: sa.Connection, table: PublicTable, relation: str, names: list[str]):
    """The grain as primary key, and the indexes BI filters need: (account_id, project_id,
    day_date) where the key does not lead with them, and day_date alone for date ranges."""
    key = [c for c in table.key if c in names]
    short = relation.split(".")[-1]
    if key and len(key) == len(table.key):
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
    wanted = [c for c in ("account_id", "project_id", "day_date") if c in names]
    if "project_id" in wanted and key[: len(wanted)] != wanted:
        connection.execute(
            sa.text(f"create index {short}_by_project on {relation} ({', '.join(wanted)})")
        )
    if "day_date" in names and key[:1] != ["day_date"]:
        connection.execute(sa.text(f"create index {short}_by_day on {relation} (day_date)"))


def _select_for_copy(names: list[str], types: dict[str, str]) -> str:
    parts = []
    for name in names:
        # PostgreSQL refuses NUL in text and \u0000 in jsonb (the sync strips NUL since
        # issue 10; rows landed before that may still hold one).
        if postgres_type(types[name]) == "jsonb":
            parts.append(f"replace(cast(to_json({name}) as varchar), '\\u0000', '') as {name}")
        elif types[name].upper() == "VARCHAR":
            parts.append(f"replace({name}, chr(0), '') as {name}")
        else:
            parts.append(name)
    return ", ".join(parts)


def _copy_table(
    driver, reader: duckdb.DuckDBPyConnection, path: Path, spec: dict, table: str
) -> int:
    if spec["rows"] == 0:
        return 0
    names = [c["name"] for c in spec["columns"]]
    types = {c["name"]: c["type"] for c in spec["columns"]}
    literal = str(path).replace("'", "''")
    source = (
        f"read_parquet('{literal}', hive_partitioning = true)"
        if spec["partitioned_by"]
        else f"read_parquet('{literal}')"
    )
    batches = reader.sql(f"select {_select_for_copy(names, types)} from {source}").to_arrow_reader(
        COPY_CHUNK_ROWS
    )
    copied = 0
    with (
        driver.cursor() as cursor,
        cursor.copy(
            f"copy {table} ({', '.join(names)}) from stdin with (format csv, header false)"
        ) as copy,
    ):
        for batch in batches:
            buffer = io.BytesIO()
            pacsv.write_csv(
                pa.Table.from_batches([batch]), buffer, pacsv.WriteOptions(include_header=False)
            )
            copy.write(buffer.getvalue())
            copied += batch.num_rows
    return copied
