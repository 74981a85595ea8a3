"""How the dashboard's modules read the `bi` views: bound parameters, rows as dicts."""

from __future__ import annotations

import duckdb

# `$account_id` is bound; null means every account in the warehouse.
ACCOUNT = "($account_id is null or account_id = $account_id)"


def fetch_rows(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: dict):
    return con.execute(sql, params).fetchone()
