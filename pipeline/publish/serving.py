"""The serving file, exports/analytics.duckdb: a release's tables and bi views in one DuckDB
file that BI tools open read-only, written in a storage format old clients can read.

Measured (scripts/serving_compat.py, written by duckdb 2.0.1): the default format (file version
69) opens only in 2.x; the DuckDB CLI from PyPI (1.5.6) reads up to 68, 1.4 up to 67, 1.3 up to
66, 1.2 up to 65 and 1.1 up to 64. A file written with storage_version 'v1.1.0' (64) opened in
every one of 1.1.3, 1.2.2, 1.3.2, 1.4.4, 1.5.6 and 2.0.1, views, comments and all.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from pipeline import safety
from pipeline.publish.contract import (
    ACCOUNTS,
    comment_statements,
    is_labelled,
    public_tables,
    view_sql,
)
from pipeline.publish.exports import empty_relation, release_manifest

SERVING_FILE = "analytics.duckdb"
# The oldest storage format that holds everything the serving file needs; see the docstring.
STORAGE_VERSION = "v1.1.0"
CATALOG = "serving"


def connect_for_writing(path: Path) -> duckdb.DuckDBPyConnection:
    """A new DuckDB file in the serving file's storage format, as the default catalog."""
    con = duckdb.connect()
    literal = str(path).replace("'", "''")
    con.execute(f"attach '{literal}' as {CATALOG} (storage_version '{STORAGE_VERSION}')")
    con.execute(f"use {CATALOG}")
    con.execute("set timezone = 'UTC'")
    return con


def build_serving_file(root: Path, release_id: str) -> Path:
    """A DuckDB file holding the release's tables (schema marts) and the bi views over them,
    built aside and moved over analytics.duckdb in one rename."""
    release = root / "releases" / release_id
    manifest = release_manifest(root, release_id)
    target = root / SERVING_FILE
    building = safety.inside(root, f".{SERVING_FILE}.building-{release_id}")
    safety.remove_leftovers(root)
    con = connect_for_writing(building)
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists bi")
        con.execute("create schema if not exists meta")
        con.execute(
            "create table meta.release as select ? as release_id, "
            "cast(? as timestamptz) as generated_at, ? as schema_version",
            [release_id, manifest["generated_at"], manifest["schema_version"]],
        )
        tables = {t.name: t for t in public_tables()}
        for name, spec in manifest["tables"].items():
            names = [c["name"] for c in spec["columns"]]
            path = str(release / spec["path"]).replace("'", "''")
            if spec["rows"] == 0:
                source = empty_relation(names, {c["name"]: c["type"] for c in spec["columns"]})
            elif spec["partitioned_by"]:
                source = f"read_parquet('{path}', hive_partitioning = true)"
            else:
                source = f"read_parquet('{path}')"
            con.execute(f"create table marts.{name} as select {', '.join(names)} from {source}")
            view = f"bi.{name}"
            accounts = f"marts.{ACCOUNTS}" if is_labelled(tables[name], names) else None
            con.execute(view_sql(view, names, f"marts.{name}", accounts))
            for statement in comment_statements(tables[name], view, names):
                con.execute(statement)
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(building, target)
    return target
