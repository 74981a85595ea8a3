"""Shared by the publish tests: one demo warehouse built per session (every test copies it),
publishing helpers, and a PostgreSQL schema of the test's own."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import orjson
import polars as pl
import polars.selectors as cs
import sqlalchemy as sa

from pipeline import warehouse
from pipeline.publish import exports
from pipeline.publish.serving import build_serving_file

# CI sets this to its own server; the default is the local test server (trust auth).
POSTGRES_URL = os.environ.get(
    "BUILDOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def publish_keys() -> list[list[str]]:
    """Every asset of the publish group, as the CLI's `publish` selects them."""
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return sorted(
        k.path for k in graph.get_all_asset_keys() if graph.get(k).group_name == "publish"
    )


def demo_warehouse(tmp_path_factory) -> Path:
    """The pipeline's DuckDB file after a whole demo run against the embedded sandbox (seed 3),
    built once per session; tests copy it (`copy_warehouse`) and never write to it."""
    folder = tmp_path_factory.getbasetemp() / "publish-demo"
    db = folder / "warehouse.duckdb"
    if db.exists():
        return db
    from pipeline.resources import (
        BuildOSResource,
        DeliverySettings,
        DuckDBWarehouse,
        PublishSettings,
    )
    from pipeline.runner import materialize

    building = folder / "building"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    materialize(
        None,
        {
            "buildos": BuildOSResource(sandbox_seed=3),
            "warehouse": DuckDBWarehouse(path=str(building / "warehouse.duckdb")),
            "publish": PublishSettings(exports_dir=str(building / "exports")),
            "deliver": DeliverySettings(dashboard_dir=str(building / "dashboards")),
        },
    )
    (building / "warehouse.duckdb").rename(db)
    return db


def copy_warehouse(source: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "warehouse.duckdb"
    shutil.copyfile(source, target)
    return target


def publish_files(
    con: duckdb.DuckDBPyConnection, root: Path, *, include_free_text: bool = False
) -> dict:
    """What the publish assets do for files, in order: a release, the serving file, the swap."""
    manifest = exports.write_release(con, root, include_free_text=include_free_text)
    build_serving_file(root, manifest["release_id"])
    exports.swap_current(root, manifest["release_id"])
    return manifest


def publish_db(db: Path, root: Path, *, include_free_text: bool = False) -> dict:
    con = warehouse.connect(db, read_only=True)
    try:
        return publish_files(con, root, include_free_text=include_free_text)
    finally:
        con.close()


def parquet_source(release: Path, spec: dict) -> str:
    """A read_parquet() call over one manifest table (hive partitions for partitioned ones)."""
    literal = str(release / spec["path"]).replace("'", "''")
    if spec["partitioned_by"]:
        return f"read_parquet('{literal}', hive_partitioning = true)"
    return f"read_parquet('{literal}')"


def sorted_frame(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> pl.DataFrame:
    """The relation's columns sorted by all of them; timestamps with a zone shown in UTC (a
    session's zone, 'UTC' or the machine's 'Etc/UTC', changes only the label)."""
    frame = con.sql(f"select {', '.join(columns)} from {relation}").pl()
    zoned = cs.datetime(time_zone="*")
    return frame.with_columns(zoned.dt.convert_time_zone("UTC")).sort(columns)


def comparable(value):
    """A value as both databases can agree on it: aware datetimes in UTC."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    return value


def sort_key(row: tuple) -> tuple:
    return tuple(
        (v is None, str(v) if not isinstance(v, int | float | Decimal) else float(v)) for v in row
    )


def normalized_rows(rows) -> list[tuple]:
    return sorted((tuple(comparable(v) for v in row) for row in rows), key=sort_key)


def schema_names(connection: sa.Connection) -> set[str]:
    return set(connection.execute(sa.text("select nspname from pg_namespace")).scalars())


@contextmanager
def scratch_schema(prefix: str = "test_publish") -> Iterator[str]:
    """A PostgreSQL schema name no other test uses; it and its release schemas are dropped
    afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        yield schema
    finally:
        engine = sa.create_engine(POSTGRES_URL)
        try:
            with engine.begin() as connection:
                names = [name for name in schema_names(connection) if name.startswith(schema)]
                for name in names:
                    connection.execute(sa.text(f"drop schema if exists {name} cascade"))
        finally:
            engine.dispose()


def clone_release(root: Path, release_id: str, new_id: str) -> str:
    """A copy of a release under another id (same files and rows): many publishes cheaply."""
    source = root / "releases" / release_id
    target = root / "releases" / new_id
    shutil.copytree(source, target)
    manifest = orjson.loads((target / "manifest.json").read_bytes())
    manifest["release_id"] = new_id
    (target / "manifest.json").write_bytes(orjson.dumps(manifest))
    return new_id
