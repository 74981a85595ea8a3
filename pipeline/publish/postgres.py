"""Publish a release to PostgreSQL through SQLAlchemy, in one transaction, with COPY.

The tables and views are built in `<schema>__next`, then the old schema is dropped and the new
one renamed, all in the same transaction: readers see the previous publish until the commit,
and a failed publish leaves it untouched. Rows go in with COPY ... FROM STDIN (CSV), never row
by row. psycopg (3) is the driver: SQLAlchemy URLs look like postgresql+psycopg://host/db.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlalchemy as sa

from pipeline.publish.contract import comment_statements, public_tables, view_sql
from pipeline.publish.exports import release_manifest

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
COPY_CHUNK_ROWS = 50_000


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


def publish_release(url: str, root: Path, release_id: str, schema: str) -> dict:
    """Copy every table of the release into `schema` and create the bi views beside them."""
    if not IDENTIFIER.match(schema):
        raise ValueError(f"not a safe PostgreSQL schema name: {schema!r}")
    manifest = release_manifest(root, release_id)
    release = root / "releases" / release_id
    staging = f"{schema}__next"
    engine = sa.create_engine(url, future=True)
    started = time.perf_counter()
    rows_copied = 0
    tables = {t.name: t for t in public_tables()}
    reader = duckdb.connect()
    try:
        with engine.begin() as connection:
            connection.execute(sa.text(f"drop schema if exists {staging} cascade"))
            connection.execute(sa.text(f"create schema {staging}"))
            driver = connection.connection.driver_connection
            for name, spec in manifest["tables"].items():
                columns = spec["columns"]
                names = [c["name"] for c in columns]
                types = {c["name"]: c["type"] for c in columns}
                ddl = ", ".join(f"{n} {postgres_type(types[n])}" for n in names)
                connection.execute(sa.text(f"create table {staging}.{name} ({ddl})"))
                rows_copied += _copy_table(
                    driver, reader, release / spec["path"], spec, f"{staging}.{name}", names, types
                )
                view = f"{staging}.bi_{name}"
                connection.execute(sa.text(view_sql(view, names, f"{staging}.{name}")))
                for statement in comment_statements(tables[name], view, names):
                    connection.execute(sa.text(statement))
            connection.execute(
                sa.text(
                    f"create table {staging}.release as select "
                    f"cast(:release_id as text) as release_id, "
                    f"cast(:generated_at as timestamptz) as generated_at, "
                    f"cast(:version as integer) as schema_version"
                ),
                {
                    "release_id": release_id,
                    "generated_at": manifest["generated_at"],
                    "version": manifest["schema_version"],
                },
            )
            connection.execute(sa.text(f"drop schema if exists {schema} cascade"))
            connection.execute(sa.text(f"alter schema {staging} rename to {schema}"))
    finally:
        reader.close()
        engine.dispose()
    return {
        "schema": schema,
        "tables": len(manifest["tables"]),
        "rows": rows_copied,
        "seconds": round(time.perf_counter() - started, 3),
        "release_id": release_id,
    }


def _copy_table(
    driver,
    reader: duckdb.DuckDBPyConnection,
    path: Path,
    spec: dict,
    table: str,
    names: list[str],
    types: dict[str, str],
) -> int:
    if spec["rows"] == 0:
        return 0
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
