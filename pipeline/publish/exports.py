"""Parquet exports and the serving DuckDB file, each written aside and swapped in atomically.

Layout under the exports folder:

    releases/<release_id>/        one complete export: Parquet files, manifest.json, views.sql
    current -> releases/<id>      a symlink, replaced atomically (os.replace) on publish
    analytics.duckdb              the serving file (pipeline/publish/serving.py)
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

from pipeline import safety
from pipeline.publish.contract import (
    ACCOUNTS,
    DAY_COLUMN,
    SCHEMA_VERSION,
    comment_statements,
    is_labelled,
    public_tables,
    quote_literal,
    view_sql,
)
from pipeline.publish.graph import write_graph_files

ROW_GROUP_SIZE = 122_880  # DuckDB's own default row group: good for scans and pruning


def new_release_id(now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{os.getpid()}"


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    """(name, type) of a relation's columns, in order."""
    return [(row[0], row[1]) for row in con.execute(f"describe {relation}").fetchall()]


def _sources(con: duckdb.DuckDBPyConnection) -> list[dict]:
    [(released,)] = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'account_releases'"
    ).fetchall()
    # A file of every account that was not gathered by the fan-in (one modelled file, as the
    # metric tests build) names each account's latest sync instead.
    query = (
        "select account_id, sync_id, sync_mode, as_of_at, sync_status, release_id "
        "from meta.account_releases order by account_id"
        if released
        else "select account_id, sync_id, mode, server_now, status, null from meta.sync_runs "
        "where status <> 'running' and account_id is not null qualify row_number() over "
        "(partition by account_id order by started_at desc) = 1 order by account_id"
    )
    rows = con.execute(query).fetchall()
    # The sync each account's rows come from (pipeline/shared.py), with its status: a release
    # built past a partial or failed sync (publish --allow-partial) says so. The account's own
    # release (null without a fan-in) tells the PostgreSQL publish which accounts changed.
    return [
        {
            "account_id": a,
            "sync_id": s,
            "mode": m,
            "as_of_at": t.isoformat() if t else None,
            "sync_status": status,
            "account_release_id": r,
        }
        for a, s, m, t, status, r in rows
    ]


def _lake_snapshot(con: duckdb.DuckDBPyConnection) -> int | None:
    """The shared lake's snapshot holding the same releases as the shared file (its id)."""
    [(exists,)] = con.execute(
        "select count(*) from duckdb_tables() "
        "where schema_name = 'meta' and table_name = 'lake_snapshot'"
    ).fetchall()
    if not exists:
        return None
    rows = con.execute("select snapshot_id from meta.lake_snapshot").fetchall()
    return rows[0][0] if rows else None


def write_release(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    *,
    include_free_text: bool,
    account_id: str | None = None,
    release_id: str | None = None,
    spreadsheets: bool = False,
) -> dict:
    """Export every public table to a new release directory; returns its manifest. With
    `spreadsheets`, also CSV files and an Excel workbook (pipeline/publish/spreadsheets.py)."""
    release_id = release_id or new_release_id()
    final = safety.inside(root, "releases", release_id)
    building = safety.inside(root, "releases", f".building-{release_id}")
    safety.remove_leftovers(root / "releases")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    started = time.perf_counter()
    tables = {}
    selects: dict[str, tuple[str, list]] = {}
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
        selects[table.name] = (select, params)
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
            reader = empty_relation(names, types)
        view = f"bi.{table.name}"
        accounts = "read_parquet('dim_accounts.parquet')" if is_labelled(table, names) else None
        view_statements.append(view_sql(view, names, reader, accounts) + ";")
        view_statements += [s + ";" for s in comment_statements(table, view, names)]
    sheets = None
    if spreadsheets:
        from pipeline.publish.spreadsheets import write_spreadsheets

        sheets = write_spreadsheets(con, building, selects)
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "release_id": release_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "account_id": account_id,
        "include_free_text": include_free_text,
        "source": [s for s in _sources(con) if account_id in (None, s["account_id"])],
        "lake_snapshot": _lake_snapshot(con),
        "export_seconds": round(time.perf_counter() - started, 3),
        "tables": tables,
        "spreadsheets": sheets,
    }
    manifest["graph"] = write_graph_files(con, building, account_id)
    (building / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    view_statements += release_view(manifest)
    (building / "views.sql").write_text(
        views_header(root.resolve() / "releases" / release_id) + "\n".join(view_statements) + "\n"
    )
    os.replace(building, final)
    return manifest


def release_view(manifest: dict) -> list[str]:
    """meta.release as a view of constants, so views.sql names its release as the serving file
    and PostgreSQL do."""
    return [
        "create schema if not exists meta;",
        "create or replace view meta.release as select "
        f"{quote_literal(manifest['release_id'])} as release_id, "
        f"cast({quote_literal(manifest['generated_at'])} as timestamptz) as generated_at, "
        f"{int(manifest['schema_version'])} as schema_version;",
    ]


def views_header(release: Path) -> str:
    """The start of views.sql: the release's absolute folder as DuckDB's file search path, so
    the relative Parquet paths resolve from any working directory. DuckDB also tries the working
    directory, so a copy of the folder still works when read from inside it."""
    return (
        "-- The bi views over this release's Parquet files, for any DuckDB (1.1 or newer):\n"
        '--   duckdb -c ".read /path/to/views.sql"   or   con.execute(open(path).read())\n'
        "-- It sets file_search_path for the session: the views resolve their files there (the\n"
        "-- release folder, which never changes) and else in the working directory.\n"
        f"set file_search_path = {quote_literal(str(release))};\n"
    )


def _copy(
    con: duckdb.DuckDBPyConnection, query: str, params: list, target: Path, options: str
) -> int:
    """COPY the query's rows to one Parquet file; returns the number of rows written (the
    manifest counts what is in the files, so rows_match_marts compares files with marts)."""
    literal = str(target).replace("'", "''")
    return con.execute(f"copy ({query}) to '{literal}' ({options})", params).fetchall()[0][0]


def empty_relation(names: list[str], types: dict[str, str]) -> str:
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


def bi_views_in_warehouse(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The bi schema of the pipeline's own DuckDB: every column, over the marts."""
    con.execute("create schema if not exists bi")
    counts = {}
    for table in public_tables():
        names = [n for n, _ in _columns(con, f"marts.{table.name}")]
        view = f"bi.{table.name}"
        accounts = f"marts.{ACCOUNTS}" if is_labelled(table, names) else None
        con.execute(view_sql(view, names, f"marts.{table.name}", accounts))
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
