"""Generic DuckDB helpers: opening the pipeline's database file, and running SQL files whose
identifiers are templated. Nothing here knows a source's entities; each source keeps its DDL
and landing steps beside itself (`pipeline/buildos/`, `sql/buildos/`).

Identifiers filled into SQL files are checked against a strict pattern; values always reach
DuckDB as bound parameters or registered Arrow tables.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb

from pipeline.locks import locked_error

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
CATALOG = "warehouse"
STORAGE_VERSION = "v1.2.0"


@cache
def _sql_file(path: Path) -> str:
    return path.read_text()


def render_sql(path: Path, **identifiers: str | list[str]) -> list[str]:
    """The statements of the SQL file at `path` with identifier placeholders filled in."""
    filled = {}
    for key, value in identifiers.items():
        names = value if isinstance(value, list) else [value]
        for item in names:
            if not IDENTIFIER.match(item):
                raise ValueError(f"not a safe SQL identifier: {item!r}")
        filled[key] = ", ".join(names)
    text = _sql_file(path).format(**filled)
    # Whole-line comments go first, so a ';' in a comment never splits a statement.
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--"))
    return [statement.strip() for statement in code.split(";") if statement.strip()]


def connect(path: str | Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the DuckDB file under the fixed catalog name `warehouse`, whatever the file is
    called (a file named after a schema, like buildos.duckdb, would make names ambiguous).
    Work that outgrows memory spills beside the file, never into the working directory.

    A file opened for writing uses DuckDB's storage format v1.2.0: a column declared `using
    compression zstd` is only compressed with zstd from that format on, and DuckDB 1.5 still
    writes the v1.0 format by default, where it silently stores such a column uncompressed (a
    1-account sync file was 137 MB instead of about 40). An older file is upgraded in place;
    every reader here runs the same pinned DuckDB."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    literal = str(path).replace("'", "''")
    mode = " (read_only)" if read_only else f" (storage_version '{STORAGE_VERSION}')"
    try:
        con.execute(f"attach '{literal}' as {CATALOG}{mode}")
    except duckdb.IOException as error:
        con.close()
        raise locked_error(path, read_only, error) from error
    con.execute(f"use {CATALOG}")
    con.execute("set timezone = 'UTC'")
    if not read_only:
        con.execute("set temp_directory = ?", [f"{path.resolve()}.tmp"])
    return con


def run_statements(
    con: duckdb.DuckDBPyConnection, statements: list[str], params: dict | None = None
) -> None:
    """Run each statement, binding only the named parameters it uses."""
    for statement in statements:
        used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
        con.execute(statement, used) if used else con.execute(statement)


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Another connection to the same database, set up as `connect` sets one up: for work
    that runs beside `con` (its own transactions and temporary tables)."""
    other = con.cursor()
    other.execute(f"use {CATALOG}")
    other.execute("set timezone = 'UTC'")
    return other
