"""An account's hand-off: its checked marts as Parquet files, one release per change, beside
its work file (accounts/<id>/releases/<release_id>/), and `current.json` naming the release
the shared layer should hold. The shared layer reads these files, never the account's DuckDB
file, so it takes no lock an account's partition needs.

A release is written aside and renamed into place; `current.json` is replaced in one rename,
so a reader finds the previous release or the next one, whole.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from pipeline import safety
from pipeline.models import Model

POINTER = "current.json"
KEEP_RELEASES = 3  # the newest ones; the shared layer reads the current one


def marts_version(con: duckdb.DuckDBPyConnection, marts: list[Model]) -> str:
    """A digest of the versions the account's marts were built from (meta.model_state): the
    same digest means the same rows."""
    rows = con.execute(
        "select model, account_id, version from meta.model_state "
        "where model in (select unnest(?)) order by 1, 2",
        [[m.name for m in marts]],
    ).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:32]


def current(folder: Path) -> dict | None:
    """The manifest of the account's current release, or None before the first one."""
    try:
        return orjson.loads((Path(folder) / POINTER).read_bytes())
    except FileNotFoundError:
        return None


def table_path(folder: Path, manifest: dict, table: str) -> Path:
    return safety.inside(folder, "releases", manifest["release_id"], f"{table}.parquet")


def write(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    account_id: str,
    marts: list[Model],
    sync: tuple | None,
    version: str,
) -> dict:
    """Export the account's marts as a new release and make it current; returns its
    manifest. `sync` is the (sync_id, status, finished_at, mode, server_now) the marts were
    built from (pipeline.buildos.runs.latest_sync)."""
    account_id = safety.account_id(account_id)
    release_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    releases = safety.inside(folder, "releases")
    safety.remove_leftovers(releases)
    building = safety.inside(folder, "releases", f".building-{release_id}")
    building.mkdir(parents=True)
    tables = {}
    for model in marts:
        target = str(building / f"{model.name}.parquet").replace("'", "''")
        con.execute(
            f"copy (select * from {model.relation}) to '{target}' "
            "(format parquet, compression zstd)"
        )
        [(rows,)] = con.execute(f"select count(*) from {model.relation}").fetchall()
        tables[model.name] = {"rows": rows, "per_account": model.is_per_account}
    manifest = {
        "account_id": account_id,
        "release_id": release_id,
        "version": version,
        "sync_id": sync[0] if sync else None,
        "sync_status": sync[1] if sync else None,
        "sync_finished_at": sync[2].isoformat() if sync and sync[2] else None,
        "sync_mode": sync[3] if sync else None,
        "as_of_at": sync[4].isoformat() if sync and sync[4] else None,
        "released_at": datetime.now(UTC).isoformat(),
        "tables": tables,
    }
    (building / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(building, safety.inside(folder, "releases", release_id))
    pointer = safety.inside(folder, f".{POINTER}.building-{release_id}")
    pointer.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(pointer, safety.inside(folder, POINTER))
    _prune(releases)
    return manifest


def _prune(releases: Path) -> None:
    names = sorted(p.name for p in releases.iterdir() if not p.name.startswith("."))
    for name in names[:-KEEP_RELEASES]:
        shutil.rmtree(releases / name, ignore_errors=True)
