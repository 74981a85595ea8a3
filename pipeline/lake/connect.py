"""Attaching the lake to a DuckDB connection: the packaged extensions, the S3 secret for its
data files, and DuckLake's ATTACH (read-only, or pinned to one snapshot, if asked)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from pipeline.lake.extensions import load_extensions
from pipeline.lake.settings import LakeSettings
from pipeline.warehouse import IDENTIFIER


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _s3_secret(con: duckdb.DuckDBPyConnection, settings: LakeSettings, alias: str) -> None:
    bucket = urlsplit(settings.data_path).netloc
    options = ["type s3", "scope ?", "region ?"]
    values: list[object] = [f"s3://{bucket}", settings.s3_region]
    if settings.s3_key_id is not None:
        options += ["key_id ?", "secret ?"]
        values += [settings.s3_key_id, settings.s3_secret or ""]
    if settings.s3_endpoint:
        endpoint = urlsplit(settings.s3_endpoint)
        # an S3-compatible server answers on host:port with bucket-in-path URLs
        options += ["endpoint ?", "url_style 'path'", "use_ssl ?"]
        values += [endpoint.netloc, endpoint.scheme == "https"]
    con.execute(f"create or replace temporary secret {alias}_data ({', '.join(options)})", values)


def _prepare_sqlite(path: Path) -> None:
    """A new SQLite catalog in WAL mode (the setting stays with the file): in the default
    rollback journal a reader's open transaction makes the writer's commit fail with
    'database is locked'; in WAL readers and the writer do not block each other."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as catalog:
        catalog.execute("pragma journal_mode = wal")


def attach(
    con: duckdb.DuckDBPyConnection,
    settings: LakeSettings,
    *,
    read_only: bool = True,
    snapshot: int | None = None,
    alias: str = "lake",
) -> duckdb.DuckDBPyConnection:
    """Attach the lake to con as `alias` (read-only unless asked; at `snapshot` if given, which
    pins every table to that commit). Creates the lake on first write. Returns con."""
    if not IDENTIFIER.match(alias):
        raise ValueError(f"not a safe catalog alias: {alias!r}")
    load_extensions(con, settings.extensions())
    if settings.on_s3:
        _s3_secret(con, settings, alias)
    else:
        Path(settings.data_path).mkdir(parents=True, exist_ok=True)
    target = settings.attach_target()
    if target.startswith("ducklake:sqlite:"):
        _prepare_sqlite(Path(target.removeprefix("ducklake:sqlite:")))
    options = [f"data_path {_literal(settings.data_path)}"]
    if read_only:
        options.append("read_only")
    if snapshot is not None:
        options.append(f"snapshot_version {int(snapshot)}")
    con.execute(f"attach {_literal(target)} as {alias} ({', '.join(options)})")
    return con


def connect(
    settings: LakeSettings,
    *,
    read_only: bool = True,
    snapshot: int | None = None,
    alias: str = "lake",
) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection with the lake attached (no terminal progress bar: a
    commit's progress is the fan-in step's metadata)."""
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    return attach(con, settings, read_only=read_only, snapshot=snapshot, alias=alias)
