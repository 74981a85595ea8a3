"""Parquet exports and the serving DuckDB file, each written aside and swapped in atomically.

Layout under the exports folder:

    releases/<release_id>/        one complete export: Parquet files, manifest.json, views.sql
    current -> releases/<id>      a symlink, replaced atomically (os.replace) on publish
    analytics.duckdb              the serving file BI tools open read-only; replaced atomically
    accounts/<account_id>/...     the same per account, when per-account exports are on

A reader who resolves `current` once (or opens analytics.duckdb) sees one release whole: files
in a release never change after it is written, and old releases are kept a while for readers
still on them.
"""

from __future__ import annotations

import os
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import orjson

from pipeline import safety, warehouse
from pipeline.publish.contract import (
    DAY_COLUMN,
    SCHEMA_VERSION,
    comment_statements,
    public_tables,
    view_sql,
)

ROW_GROUP_SIZE = 122_880  # DuckDB's own default row group: good for scans and pruning
SERVING_FILE = "analytics.duckdb"


def new_release_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{os.getpid()}"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns, in order."""
    return [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]


def _sources(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        "select account_id, sync_id, mode, server_now, status from meta.sync_runs "
        "where status <> 'running' and account_id is not null qualify row_number() over "
        "(partition by account_id order by started_at desc) = 1 order by account_id"
    ).fetchall()
    # The latest sync of each account, with its status: a release built past a partial or
    # failed sync (publish --allow-partial) says so.
    return [
        {
            "account_id": a,
            "sync_id": s,
            "mode": m,
            "as_of_at": t.isoformat() if t else None,
            "sync_status": status,
        }
        for a, s, m, t, status in rows
    ]


def write_release(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    *,
    include_free_text: bool,
    account_id: str | None = None,
    release_id: str | None = None,
) -> dict:
    """Export every public table to a new release directory; returns its manifest."""
    release_id = release_id or new_release_id()
    final = safety.inside(root, "releases", release_id)
    building = safety.inside(root, "releases", f".building-{release_id}")
    safety.remove_leftovers(root / "releases")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    started = time.perf_counter()
    tables = {}
    view_statements = ["create schema if not exists bi;"]
    for table in public_tables():
        columns = _columns(con, f"marts.{table.name}")
        names = table.columns([n for n, _ in columns], include_free_text)
        types = dict(columns)
        select = f"select {', '.join(names)} from marts.{table.name}"
        params: list = []
        # Shared tables without an account (dim_dates, the calendar) go whole to every account.
        if account_id is not None and "account_id" in types:
            select += " where account_id = ?"
            params = [account_id]
        options = f"format parquet, compression zstd, row_group_size {ROW_GROUP_SIZE}"
        if table.partitioned:
            # One COPY per month into month=YYYY-MM/, the layout partition_by (month) writes, at
            # about the speed of a single file: DuckDB's partitioned writer took 2-3x as long
            # (bench/publish.py). An empty table leaves an empty folder; views.sql reads it.
            target = building / table.name
            target.mkdir()
            path = f"{table.name}/**/*.parquet"
            months = con.execute(
                f"select distinct date_trunc('month', {DAY_COLUMN}) from ({select}) "
                f"where {DAY_COLUMN} is not null",
                params,
            ).fetchall()
            rows = 0
            for (month,) in months:
                folder = target / f"month={month:%Y-%m}"
                folder.mkdir()
                within = (
                    f"select * from ({select}) where {DAY_COLUMN} >= ? "
                    f"and {DAY_COLUMN} < ? + interval 1 month"
                )
                rows += _copy(
                    con, within, [*params, month, month], folder / "data_0.parquet", options
                )
        else:
            path = f"{table.name}.parquet"
            rows = _copy(con, select, params, building / path, options)
        tables[table.name] = {
            "path": path,
            "partitioned_by": "month" if table.partitioned else None,
            "rows": rows,
            "description": table.description,
            "columns": [
                {"name": n, "type": types[n], "description": table.comment(n)} for n in names
            ],
        }
        reader = (
            f"read_parquet('{path}', hive_partitioning = true, union_by_name = true)"
            if table.partitioned
            else f"read_parquet('{path}')"
        )
        if table.partitioned and rows == 0:
            reader = _empty_relation(names, types)
        view = f"bi.{table.name}"
        view_statements.append(view_sql(view, names, reader) + ";")
        view_statements += [s + ";" for s in comment_statements(table, view, names)]
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "release_id": release_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "account_id": account_id,
        "include_free_text": include_free_text,
        "source": [s for s in _sources(con) if account_id in (None, s["account_id"])],
        "export_seconds": round(time.perf_counter() - started, 3),
        "tables": tables,
    }
    (building / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    header = (
        "-- The bi views over this export's Parquet files. Run from this folder:\n"
        "--   duckdb -c \".read views.sql\" (or con.execute(open('views.sql').read()))\n"
    )
    (building / "views.sql").write_text(header + "\n".join(view_statements) + "\n")
    os.replace(building, final)
    return manifest


def _copy(
    con: duckdb.DuckDBPyConnection, query: str, params: list, target: Path, options: str
) -> int:
    """COPY the query's rows to one Parquet file; returns the number of rows written (the
    manifest counts what is in the files, so rows_match_marts compares files with marts)."""
    literal = str(target).replace("'", "''")
    return con.execute(f"copy ({query}) to '{literal}' ({options})", params).fetchall()[0][0]


def _empty_relation(names: list[str], types: dict[str, str]) -> str:
    casts = ", ".join(f"cast(null as {types[n]}) as {n}" for n in names)
    return f"(select {casts} where false)"


def current_manifest(root: Path) -> dict | None:
    path = root / "current" / "manifest.json"
    return orjson.loads(path.read_bytes()) if path.exists() else None


def release_manifest(root: Path, release_id: str) -> dict:
    return orjson.loads((root / "releases" / release_id / "manifest.json").read_bytes())


def schema_breaks(previous: dict | None, new: dict) -> list[str]:
    """Columns that disappeared or changed type since the published release, when the schema
    version was not bumped. BI dashboards break silently on those."""
    if previous is None or new["schema_version"] > previous["schema_version"]:
        return []
    problems = []
    for name, table in previous["tables"].items():
        if name not in new["tables"]:
            problems.append(f"table {name} disappeared")
            continue
        now = {c["name"]: c["type"] for c in new["tables"][name]["columns"]}
        for column in table["columns"]:
            if column["name"] not in now:
                problems.append(f"{name}.{column['name']} disappeared")
            elif now[column["name"]] != column["type"]:
                problems.append(
                    f"{name}.{column['name']} changed type "
                    f"{column['type']} -> {now[column['name']]}"
                )
    return problems


def swap_current(root: Path, release_id: str, keep: int = 3) -> None:
    """Point `current` at the release atomically, then drop all but the newest `keep`."""
    link = root / "current"
    temporary = root / f".current-{release_id}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(Path("releases") / release_id, target_is_directory=True)
    os.replace(temporary, link)
    releases = sorted(p for p in (root / "releases").iterdir() if not p.name.startswith("."))
    for old in releases[:-keep]:
        if old.name != release_id:
            shutil.rmtree(old, ignore_errors=True)


def build_serving_file(root: Path, release_id: str) -> Path:
    """A DuckDB file holding the release's tables (schema marts) and the bi views over them,
    built aside and moved over analytics.duckdb in one rename."""
    release = root / "releases" / release_id
    manifest = release_manifest(root, release_id)
    target = root / SERVING_FILE
    building = safety.inside(root, f".{SERVING_FILE}.building-{release_id}")
    safety.remove_leftovers(root)
    con = warehouse.connect(building)
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
                source = _empty_relation(names, {c["name"]: c["type"] for c in spec["columns"]})
            elif spec["partitioned_by"]:
                source = f"read_parquet('{path}', hive_partitioning = true)"
            else:
                source = f"read_parquet('{path}')"
            con.execute(f"create table marts.{name} as select {', '.join(names)} from {source}")
            view = f"bi.{name}"
            con.execute(view_sql(view, names, f"marts.{name}"))
            for statement in comment_statements(tables[name], view, names):
                con.execute(statement)
        con.execute("checkpoint")
    finally:
        con.close()
    os.replace(building, target)
    return target


def bi_views_in_warehouse(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The bi schema of the pipeline's own DuckDB: every column, over the marts."""
    con.execute("create schema if not exists bi")
    counts = {}
    for table in public_tables():
        names = [n for n, _ in _columns(con, f"marts.{table.name}")]
        view = f"bi.{table.name}"
        con.execute(view_sql(view, names, f"marts.{table.name}"))
        for statement in comment_statements(table, view, names):
            con.execute(statement)
        counts[view] = con.execute(f"select count(*) from {view}").fetchall()[0][0]
    return counts


def account_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select distinct account_id from marts.dim_projects order by 1"
        ).fetchall()
    ]
