"""Publish speed against plain baselines, in one run on one workspace:

    .venv/bin/python bench/publish.py      # 3 to 5 minutes on 2 cores
        [--accounts 2] [--projects 100] [--tasks 210] [--export-replicas 100]
        [--postgres-replicas 10] [--repeats 3]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

(a) our export (pipeline.publish.exports.write_release: zstd, daily facts partitioned by month,
    manifest, views.sql) against (b) a plain DuckDB `COPY (select * from marts.X) TO 'X.parquet'
    (FORMAT parquet)` of the same tables, as "our speed / plain COPY speed"; beside them, the
    parts of our export measured one at a time (zstd; month partitions written by DuckDB's
    partition_by, as the export first did, or by one COPY per month, as it does now; a
    count(*) per table).
(c) our first PostgreSQL publish (publish_release: a new schema built with COPY, keys, the
    views switched) against (d) a plain SQLAlchemy insert
    (`connection.execute(table.insert(), list_of_dicts)`) of the same rows into a scratch
    schema, as rows/s for each and their ratio. The baseline's rows are read into Python
    before its clock starts (a head start in its favour).
(e)-(g) in interleaved rounds: (e) the whole publish into a schema of its own (what every
    publish cost before the per-account publish), (f) a publish after one account's release
    changed (that account's rows replaced in one transaction), (g) a publish with no account
    changed; "whole / one account" is their ratio. Times are publish_release's own, without
    the Parquet export before it.

Data: the sandbox simulator's workspace landed with bench/models.py's land_workspace (no HTTP),
then every model built, then the marts' rows copied under new account ids (x10 for PostgreSQL,
x100 for Parquet) so each side takes seconds, and meta.account_releases noted as a fan-in
writes it. Everything lives in a temporary folder and scratch PostgreSQL schemas, removed at
the end. Free text is included in our export so both
sides write the same columns.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from models import land_workspace  # bench/models.py, beside this file

from pipeline import warehouse
from pipeline.models import build_all
from pipeline.publish import exports
from pipeline.publish.contract import DAY_COLUMN, public_tables
from pipeline.publish.postgres import postgres_type, publish_release
from pipeline.resources import DEFAULT_EFFORT_WEIGHTS
from pipeline.sandbox import SimulationOptions

NOW = datetime(2026, 3, 2, tzinfo=UTC)
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
INSERT_CHUNK = 10_000  # rows per connection.execute(table.insert(), rows) call
# A replica's account id: a UUID made from the original's and the copy number.
REPLICA_ID = "cast(cast(md5(account_id || ?) as uuid) as varchar)"


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def medians(repeats: int, actions: dict[str, Callable[[], object]]) -> dict[str, float]:
    """Median seconds of each action over `repeats` rounds; every round runs each action once,
    in turn, so a change in the machine's load falls on all of them alike."""
    seconds: dict[str, list[float]] = {name: [] for name in actions}
    for _ in range(repeats):
        for name, action in actions.items():
            os.sync()  # the previous action's writes reach the disk before this clock starts
            seconds[name].append(timed(action))
    return {name: statistics.median(values) for name, values in seconds.items()}


def plain_copy(con, folder: Path, options: str = "format parquet") -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for table in public_tables():
        target = str(folder / f"{table.name}.parquet").replace("'", "''")
        con.execute(f"copy (select * from marts.{table.name}) to '{target}' ({options})")


def partitioned_copy(con, folder: Path) -> None:
    """zstd, and month partitions written by DuckDB's partition_by (the export's first way)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for table in public_tables():
        target = str(folder / table.name).replace("'", "''")
        if table.partitioned:
            con.execute(
                f"copy (select *, strftime({DAY_COLUMN}, '%Y-%m') as month "
                f"from marts.{table.name}) to '{target}' "
                f"(format parquet, compression zstd, partition_by (month), "
                f"row_group_size {exports.ROW_GROUP_SIZE})"
            )
        else:
            con.execute(
                f"copy (select * from marts.{table.name}) to '{target}.parquet' "
                f"(format parquet, compression zstd, row_group_size {exports.ROW_GROUP_SIZE})"
            )


def per_month_copy(con, folder: Path) -> None:
    """Like partitioned_copy, but one plain COPY per month (a day_date range) into the same
    month=YYYY-MM folders, as write_release now does."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for table in public_tables():
        if not table.partitioned:
            target = str(folder / f"{table.name}.parquet").replace("'", "''")
            con.execute(
                f"copy (select * from marts.{table.name}) to '{target}' "
                f"(format parquet, compression zstd, row_group_size {exports.ROW_GROUP_SIZE})"
            )
            continue
        months = con.execute(
            f"select distinct date_trunc('month', {DAY_COLUMN}) from marts.{table.name}"
        ).fetchall()
        for (month,) in months:
            target = folder / table.name / f"month={month:%Y-%m}"
            target.mkdir(parents=True)
            literal = str(target / "data_0.parquet").replace("'", "''")
            con.execute(
                f"copy (select * from marts.{table.name} where {DAY_COLUMN} >= ? and "
                f"{DAY_COLUMN} < ? + interval 1 month) to '{literal}' "
                f"(format parquet, compression zstd, row_group_size {exports.ROW_GROUP_SIZE})",
                [month, month],
            )


def count_rows(con) -> None:
    for table in public_tables():
        con.execute(f"select count(*) from (select * from marts.{table.name})").fetchall()


def replicate_marts(con, first: int, last: int) -> None:
    """Add copies number `first` to `last - 1` of every account's mart rows under new account
    ids (UUIDs, as the publish demands): the scale of a deployment with many accounts,
    without simulating each one (every mart but the calendar is per account)."""
    originals = [a for (a,) in con.execute("select account_id from meta.sync_runs").fetchall()]
    for table in public_tables():
        columns = [row[0] for row in con.execute(f"describe marts.{table.name}").fetchall()]
        if "account_id" not in columns:
            continue  # the calendar is shared by every account
        for copy in range(first, last):
            con.execute(
                f"insert into marts.{table.name} select * replace ({REPLICA_ID} as account_id) "
                f"from marts.{table.name} where account_id in (select unnest(?))",
                [f"-copy{copy}", originals],
            )
    con.execute("checkpoint")


def note_account_releases(con, tag: str = "bench-1") -> None:
    """meta.account_releases as a fan-in writes it (one release per account), so the release
    manifest names each account's release, as it does in the pipeline."""
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.account_releases as select account_id, "
        "? as release_id, cast(null as varchar) as sync_id, 'succeeded' as sync_status, "
        "'full' as sync_mode, cast(null as timestamptz) as as_of_at "
        "from (select distinct account_id from marts.dim_accounts)",
        [tag],
    )


def change_one_account(con, account_id: str, tag: str) -> None:
    """The account's next release: a few of its tasks gone from the task mart (the rest of
    its rows are unchanged, but the publish replaces all of them, as it does in the
    pipeline), and a new release id."""
    con.execute(
        "delete from marts.fct_task_flow where rowid in (select rowid from marts.fct_task_flow "
        "where account_id = ? limit 5)",
        [account_id],
    )
    con.execute(
        "update meta.account_releases set release_id = ? where account_id = ?", [tag, account_id]
    )


def our_export(con, root: Path) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    return exports.write_release(con, root, include_free_text=True)


def plain_insert(url: str, root: Path, manifest: dict, schema: str) -> tuple[int, float]:
    """Create the same tables in `schema` and insert the release's rows with table.insert()."""
    release = root / "releases" / manifest["release_id"]
    reader = warehouse.connect(":memory:")
    payload = {}
    for name, spec in manifest["tables"].items():
        if spec["rows"] == 0:
            continue
        hive = ", hive_partitioning = true" if spec["partitioned_by"] else ""
        names = [c["name"] for c in spec["columns"]]
        cursor = reader.execute(
            f"select {', '.join(names)} from read_parquet('{release / spec['path']}'{hive})"
        )
        payload[name] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    reader.close()
    rows = sum(len(r) for r in payload.values())
    engine = sa.create_engine(url)
    try:
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(sa.text(f"create schema {schema}"))
            for name, spec in manifest["tables"].items():
                ddl = ", ".join(f"{c['name']} {postgres_type(c['type'])}" for c in spec["columns"])
                connection.execute(sa.text(f"create table {schema}.{name} ({ddl})"))
                table = sa.Table(name, sa.MetaData(), schema=schema, autoload_with=connection)
                data = payload.get(name, [])
                for start in range(0, len(data), INSERT_CHUNK):
                    connection.execute(table.insert(), data[start : start + INSERT_CHUNK])
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return rows, seconds


def drop_schemas(url: str, schemas: list[str]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            # Each one, and its release schemas (<schema>__r<release>).
            names = connection.execute(sa.text("select nspname from pg_namespace")).scalars()
            for name in [n for n in names if any(n.startswith(s) for s in schemas)]:
                connection.execute(sa.text(f"drop schema if exists {name} cascade"))
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=210)
    parser.add_argument(
        "--export-replicas", type=int, default=100, help="copies of the marts for (a) and (b)"
    )
    parser.add_argument(
        "--postgres-replicas", type=int, default=10, help="copies of the marts for (c) and (d)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_URL)
    args = parser.parse_args()
    options = SimulationOptions(
        seed=1,
        accounts=args.accounts,
        projects_per_account=args.projects,
        tasks_per_project=args.tasks,
        days=120,
        horizon_days=1,
        now=NOW,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    suffix = uuid.uuid4().hex[:8]
    ours_schema, plain_schema = f"bench_publish_{suffix}", f"bench_insert_{suffix}"
    db = work / "warehouse.duckdb"
    try:
        started = time.perf_counter()
        land_workspace(options, db)
        con = warehouse.connect(db)
        build_all(con, DEFAULT_EFFORT_WEIGHTS)
        replicate_marts(con, 1, args.postgres_replicas)
        con.close()
        print(
            f"workspace: {args.accounts} accounts x {args.projects} projects x {args.tasks} "
            f"tasks (sandbox seed 1), marts replicated under new account ids; "
            f"prepared in {time.perf_counter() - started:.0f}s (not part of the figures)"
        )
        postgres_phase(
            args.postgres_url,
            db,
            work,
            args.postgres_replicas,
            args.repeats,
            ours_schema,
            plain_schema,
        )

        con = warehouse.connect(db)
        replicate_marts(con, args.postgres_replicas, args.export_replicas)
        con.close()
        export_phase(db, work, args.export_replicas, args.repeats)
    finally:
        drop_schemas(args.postgres_url, [ours_schema, plain_schema])
        shutil.rmtree(work, ignore_errors=True)


def describe(con, replicas: int) -> str:
    rows = {
        t.name: con.execute(f"select count(*) from marts.{t.name}").fetchall()[0][0]
        for t in public_tables()
    }
    largest = sorted(rows.items(), key=lambda item: -item[1])[:3]
    return f"x{replicas}: {len(rows)} marts, {sum(rows.values()):,} rows; largest " + ", ".join(
        f"{name} {count:,}" for name, count in largest
    )


def postgres_phase(
    url: str,
    db: Path,
    work: Path,
    replicas: int,
    repeats: int,
    ours_schema: str,
    plain_schema: str,
) -> None:
    root = work / "postgres"
    con = warehouse.connect(db)
    try:
        note_account_releases(con)
        found = con.execute("select account_id from meta.account_releases order by 1").fetchall()
        accounts = [a for (a,) in found]
        print(f"\nPostgreSQL, marts {describe(con, replicas)}, {len(accounts)} accounts")
        manifest = our_export(con, root)
        total = sum(t["rows"] for t in manifest["tables"].values())
        first = publish_release(url, root, manifest["release_id"], ours_schema)
        assert first["mode"] == "schema_switch"
        inserted, insert_seconds = plain_insert(url, root, manifest, plain_schema)
        assert inserted == first["rows"] == total
        drop_schemas(url, [plain_schema])
        # Interleaved rounds: a whole publish into a schema of its own (what every publish
        # cost before), one account changed, nothing changed.
        seconds: dict[str, list[float]] = {"whole": [], "one": [], "none": []}
        one_rows = []
        for round_number in range(repeats):
            whole = f"{ours_schema}_whole{round_number}"
            result = publish_release(url, root, manifest["release_id"], whole)
            rows = sum(t["rows"] for t in manifest["tables"].values())
            assert result["mode"] == "schema_switch" and result["rows"] == rows
            seconds["whole"].append(result["seconds"])
            drop_schemas(url, [whole])
            account = accounts[round_number % len(accounts)]
            change_one_account(con, account, f"bench-{round_number + 2}")
            manifest = exports.write_release(con, root, include_free_text=True)
            result = publish_release(url, root, manifest["release_id"], ours_schema)
            assert result["mode"] == "per_account" and result["accounts_replaced"] == 1
            seconds["one"].append(result["seconds"])
            one_rows.append(result["rows"])
            manifest = exports.write_release(con, root, include_free_text=True)
            result = publish_release(url, root, manifest["release_id"], ours_schema)
            assert result["mode"] == "per_account" and result["rows"] == 0
            seconds["none"].append(result["seconds"])
    finally:
        con.close()
    median = {name: statistics.median(values) for name, values in seconds.items()}
    copy_rate = total / first["seconds"]
    insert_rate = total / insert_seconds
    print(
        f"  (c) our first publish (COPY, keys, switch)  {first['seconds']:8.2f} s"
        f"  {copy_rate:>10,.0f} rows/s"
    )
    print(
        f"  (d) SQLAlchemy table.insert()                {insert_seconds:8.2f} s"
        f"  {insert_rate:>10,.0f} rows/s"
    )
    print(f"  our rows/s / insert rows/s: {copy_rate / insert_rate:.1f}")
    print(f"  median of {repeats} interleaved rounds:")
    print(f"  (e) whole publish, new schema + switch     {median['whole']:8.2f} s  {total:,} rows")
    print(
        f"  (f) 1 of {len(accounts)} accounts changed, per account  {median['one']:8.2f} s"
        f"  {statistics.median(one_rows):,.0f} rows"
    )
    print(f"  (g) nothing changed                        {median['none']:8.2f} s")
    print(f"  whole / one account changed: {median['whole'] / median['one']:.1f}")


def export_phase(db: Path, work: Path, replicas: int, repeats: int) -> None:
    con = warehouse.connect(db, read_only=True)
    try:
        print(f"\nParquet export, marts {describe(con, replicas)}")
        plain_copy(con, work / "warm")  # warm the OS cache and DuckDB's before any clock
        seconds = medians(
            repeats,
            {
                "plain": lambda: plain_copy(con, work / "plain"),
                "ours": lambda: our_export(con, work / "ours"),
                "zstd": lambda: plain_copy(con, work / "zstd", "format parquet, compression zstd"),
                "partitioned": lambda: partitioned_copy(con, work / "partitioned"),
                "per_month": lambda: per_month_copy(con, work / "per_month"),
                "counts": lambda: count_rows(con),
            },
        )
    finally:
        con.close()
    lines = [
        ("(b) plain COPY (DuckDB's default codec), one file per table", "plain"),
        ("    the same with zstd", "zstd"),
        ("    zstd + DuckDB's partition_by (month) (the export before)", "partitioned"),
        ("    zstd + one COPY per month (what write_release runs)", "per_month"),
        ("    select count(*) of every table (the manifest's old counts)", "counts"),
        ("(a) our export (write_release)", "ours"),
    ]
    print(f"  median of {repeats} rounds")
    for text, key in lines:
        print(f"  {text:<62}{seconds[key]:8.2f} s")
    print(f"  our speed / plain COPY speed: {seconds['plain'] / seconds['ours']:.2f}")


if __name__ == "__main__":
    main()
