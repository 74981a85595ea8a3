"""Rows of a Parquet release on their way into PostgreSQL: read with DuckDB (NUL stripped,
nested values as JSON text), whole or for some accounts, and sent with COPY ... FROM STDIN.
Also the digests that say whether rows changed when no release id says so.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

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


def column_names(spec: dict) -> list[str]:
    return [c["name"] for c in spec["columns"]]


def has_accounts(spec: dict) -> bool:
    """Whether a manifest table holds rows per account (all but the shared calendar)."""
    return "account_id" in column_names(spec)


def parquet_source(release: Path, spec: dict) -> str:
    literal = str(release / spec["path"]).replace("'", "''")
    if spec["partitioned_by"]:
        return f"read_parquet('{literal}', hive_partitioning = true)"
    return f"read_parquet('{literal}')"


def select_for_copy(names: list[str], types: dict[str, str]) -> str:
    """The columns as COPY takes them (`types`: each column's DuckDB type)."""
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


def _select(spec: dict) -> str:
    return select_for_copy(column_names(spec), {c["name"]: c["type"] for c in spec["columns"]})


def table_batches(
    reader: duckdb.DuckDBPyConnection, release: Path, spec: dict
) -> Iterator[pa.RecordBatch]:
    """Every row of a manifest table, in batches."""
    if spec["rows"] == 0:
        return iter(())
    query = f"select {_select(spec)} from {parquet_source(release, spec)}"
    return iter(reader.sql(query).to_arrow_reader(COPY_CHUNK_ROWS))


def rows_by_account(
    reader: duckdb.DuckDBPyConnection, release: Path, spec: dict, account_ids: list[str]
) -> dict[str, pa.Table]:
    """A manifest table's rows of the given accounts, one Arrow table per account that has
    any: one read of the files for all of them, sorted by account and cut at each change."""
    if spec["rows"] == 0 or not account_ids:
        return {}
    rows = reader.execute(
        f"select {_select(spec)} from {parquet_source(release, spec)} "
        "where account_id in (select unnest(?)) order by account_id",
        [account_ids],
    ).arrow()
    if isinstance(rows, pa.RecordBatchReader):
        rows = rows.read_all()
    if rows.num_rows == 0:
        return {}
    runs = pc.run_end_encode(rows.column("account_id").combine_chunks())
    ends = runs.run_ends.to_pylist()
    starts = [0, *ends[:-1]]
    return {
        account: rows.slice(start, end - start)
        for account, start, end in zip(runs.values.to_pylist(), starts, ends, strict=True)
    }


def copy_rows(driver, relation: str, names: list[str], batches) -> int:
    """COPY Arrow batches (or tables) into `relation` as CSV; returns the rows sent."""
    copied = 0
    with (
        driver.cursor() as cursor,
        cursor.copy(
            f"copy {relation} ({', '.join(names)}) from stdin with (format csv, header false)"
        ) as copy,
    ):
        for batch in batches:
            if batch.num_rows == 0:
                continue
            buffer = io.BytesIO()
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False))
            copy.write(buffer.getvalue())
            copied += batch.num_rows
    return copied


def digests(
    reader: duckdb.DuckDBPyConnection, release: Path, tables: dict[str, dict], by_account: bool
) -> dict[str, str]:
    """A digest of the rows of the given manifest tables: per account (`by_account`), or per
    table. Rows are unique by their grain, so an order-free xor of row hashes changes when
    any row does; the count guards against the rare cancellation."""
    parts: dict[str, list[str]] = {}
    for name, spec in sorted(tables.items()):
        columns = ", ".join(column_names(spec))
        if spec["rows"] == 0:
            continue
        source = parquet_source(release, spec)
        digest = f"count(*), bit_xor(hash({columns}))"
        if by_account:
            query = f"select account_id, {digest} from {source} group by account_id"
        else:
            query = f"select null, {digest} from {source}"
        for key, count, value in reader.execute(query).fetchall():
            key = key if by_account else name
            parts.setdefault(key, []).append(f"{name}:{count}:{value}")
    return {key: hashlib.sha256("|".join(p).encode()).hexdigest() for key, p in parts.items()}
