"""DuckDB helpers: the pipeline's database file, its DDL, and landing Arrow batches.

Identifiers in the shared SQL steps (`sql/buildos/*.sql`) come only from the entity registry and
are checked against a strict pattern; values always reach DuckDB as bound parameters or
registered Arrow tables.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from pipeline.buildos.records import ENTITIES, EntitySpec, table_columns
from pipeline.locks import locked_error
from pipeline.paths import SQL_DIR

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


@cache
def _sql_file(name: str) -> str:
    return (SQL_DIR / "buildos" / f"{name}.sql").read_text()


def render_sql(name: str, **identifiers: str | list[str]) -> list[str]:
    """The statements of sql/buildos/<name>.sql with identifier placeholders filled in."""
    filled = {}
    for key, value in identifiers.items():
        names = value if isinstance(value, list) else [value]
        for item in names:
            if not IDENTIFIER.match(item):
                raise ValueError(f"not a safe SQL identifier: {item!r}")
        filled[key] = ", ".join(names)
    text = _sql_file(name).format(**filled)
    # Whole-line comments go first, so a ';' in a comment never splits a statement.
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


CATALOG = "warehouse"


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file under the fixed catalog name `warehouse`, whatever the file is
    called (a file named after a schema, like buildos.duckdb, would make names ambiguous)."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    literal = str(path).replace("'", "''")
    mode = " (read_only)" if read_only else ""
    try:
        con.execute(f"attach '{literal}' as {CATALOG}{mode}")
    except duckdb.IOException as error:
        con.close()
        raise locked_error(path, read_only, error) from error
    con.execute(f"use {CATALOG}")
    con.execute("set timezone = 'UTC'")
    return con


def run_statements(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    for statement in statements:
        con.execute(statement)


def ensure_ingest_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table the sync writes (idempotent)."""
    run_statements(con, render_sql("create_schemas"))
    run_statements(con, render_sql("create_meta_tables"))
    for spec in ENTITIES.values():
        for statement in entity_ddl(spec):
            con.execute(statement)


def entity_ddl(spec: EntitySpec) -> list[str]:
    """DDL of raw.<entity>, buildos.<entity> and, for kept entities, history.<entity>. Built
    from the entity's columns so the parser, the Arrow schema and the tables agree."""
    columns = table_columns(spec)
    body = ",\n    ".join(f"{name} {kind}" for name, kind in columns)
    statements = [
        f"create table if not exists raw.{spec.name} (\n"
        "    account_id varchar not null,\n    id varchar not null,\n    payload json,\n"
        "    payload_hash varchar not null,\n    _synced_at timestamptz not null,\n"
        "    _sync_id varchar not null,\n    primary key (account_id, id, payload_hash)\n)",
        f"create table if not exists buildos.{spec.name} (\n    {body},\n"
        "    _removed_at timestamptz,\n    primary key (account_id, id)\n)",
    ]
    if spec.history:
        statements.append(
            f"create table if not exists history.{spec.name} (\n    {body},\n"
            "    valid_from timestamptz not null,\n    valid_to timestamptz,\n"
            "    primary key (account_id, id, valid_from, payload_hash)\n)"
        )
    return statements


def land_batch(con: duckdb.DuckDBPyConnection, spec: EntitySpec, batch: pa.Table) -> None:
    """Raw, current and (if kept) history for one entity's batch, inside the caller's
    transaction."""
    con.register("batch", batch)
    try:
        columns = [name for name, _ in table_columns(spec)]
        run_statements(con, render_sql("insert_raw_records", table=spec.name))
        run_statements(con, render_sql("merge_into_current", table=spec.name, columns=columns))
        if spec.history:
            run_statements(con, render_sql("snapshot_history", table=spec.name, columns=columns))
    finally:
        con.unregister("batch")


def mark_removed(con: duckdb.DuckDBPyConnection, spec: EntitySpec, scope_column: str) -> None:
    """Mark rows of the refetched scope that were not seen (needs the temp tables
    sync_context, refetched_scope and seen_ids)."""
    run_statements(con, render_sql("mark_removed", table=spec.name, scope_column=scope_column))
    if spec.history:
        run_statements(con, render_sql("close_removed_history", table=spec.name))
