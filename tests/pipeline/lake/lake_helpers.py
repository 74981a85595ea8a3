"""Hand-offs for the lake tests: an account's marts as Parquet files, as the per-account
release step leaves them, and the rows a lake holds per table."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lake import AccountRelease

# CI sets this to its own server; the default is the local test server (trust auth).
POSTGRES_URL = os.environ.get(
    "BUILDOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
).replace("postgresql+psycopg://", "postgresql://", 1)
BUCKET = "lake-tests"


def new_account() -> str:
    return str(uuid.uuid4())


def release(
    folder: Path, account: str, number: int, tables: dict[str, dict[str, list]] | None = None
) -> AccountRelease:
    """Account `account`'s release `number`: by default two marts whose rows carry the release
    number (fct_items, 3 rows; fct_totals, 1 row), which a consistent reader sees agree, and a
    calendar without account_id."""
    if tables is None:
        tables = {
            "fct_items": {"account_id": [account] * 3, "item": [1, 2, 3], "release": [number] * 3},
            "fct_totals": {"account_id": [account], "items": [3], "release": [number]},
            "dim_days": {"day": [number, number + 1]},
        }
    where = folder / account / str(number)
    where.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, columns in tables.items():
        paths[name] = where / f"{name}.parquet"
        pq.write_table(pa.table(columns), paths[name])
    return AccountRelease(
        account, paths, sync_ids=[f"sync-{account[:8]}-{number}"], release_id=f"r{number}"
    )


def rows(con: duckdb.DuckDBPyConnection, table: str, alias: str = "lake") -> list[tuple]:
    return con.execute(f"select * from {alias}.marts.{table} order by all").fetchall()


def releases_of(con: duckdb.DuckDBPyConnection, table: str, alias: str = "lake") -> dict:
    """account -> the set of release numbers its rows in `table` carry."""
    found: dict[str, set] = {}
    for account, number in con.execute(
        f"select distinct account_id, release from {alias}.marts.{table}"
    ).fetchall():
        found.setdefault(account, set()).add(number)
    return found
