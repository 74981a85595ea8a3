"""The shared lake's format, measured: DuckLake against its peer, Apache Iceberg (pyiceberg with
its SQL catalog, read by DuckDB's iceberg extension), in one run on the same data:

    .venv/bin/pip install -e '.[bench]'    # pyiceberg and duckdb-extension-iceberg
    .venv/bin/python bench/lake.py         # 3 to 6 minutes on 2 shared cores
        [--accounts 20] [--tables 15] [--rows 300] [--repeats 3] [--concurrent-tables 3]
        [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

Both keep their catalog in PostgreSQL (a scratch database each, dropped at the end) and their
data files on an S3-compatible server (moto_server on a free loopback port, stopped at the end).
Every account hands off one Parquet file per mart table (columns account_id, item_id, release,
value, label); "release" is the fan-in round that wrote it, so two tables that must agree name
the same release for an account.

(a) one fan-in writer replaces every account's rows in every table: DuckLake through
    pipeline.lake.commit_accounts, in ONE transaction (per table: delete the accounts' rows,
    insert their files), Iceberg as one
    overwrite(filter account_id in ...) per table (pyiceberg has no multi-table commit);
    interleaved repeats, median seconds and the ratio.
(b) 2 and 4 processes each replace their own accounts, one account per commit (DuckLake: one
    transaction over the tables; Iceberg: one overwrite per table): conflicts (DuckLake: commits
    that raised and were retried here; Iceberg: pyiceberg's own retries, counted from its log)
    and commits that still failed.
(c) a reader process loops while 20 fan-in commits run (each replacing a quarter of the
    accounts): errors, and torn reads (an account whose release differs between the first and
    the last table in one read; DuckLake reads both in one transaction, Iceberg reads each
    table's current metadata from the catalog).
(d) pinning: after one more commit, a reader pinned to the earlier snapshot still sees it.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.lake import AccountRelease, LakeSettings, commit_accounts, current_snapshot
from pipeline.lake import connect as lake_connect
from pipeline.lake.extensions import load_extensions
from pipeline.lake.s3local import local_s3

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
BUCKET = "bench-lake"
KEY, SECRET, REGION = "bench", "bench-secret", "us-east-1"
RETRIES = 20  # DuckLake commits retried by this script before one counts as failed


# ---- data: one Parquet hand-off per account, table and round ---------------------------------


def handoff(folder: Path, account: str, table: int, release: int, rows: int) -> Path:
    path = folder / f"r{release}" / f"t{table}" / f"{account}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "account_id": [account] * rows,
                    "item_id": list(range(rows)),
                    "release": [release] * rows,
                    "value": [float(i * release) for i in range(rows)],
                    "label": [f"item {i} of {account[:8]}" for i in range(rows)],
                }
            ),
            path,
        )
    return path


# ---- DuckLake -------------------------------------------------------------------------------


def ducklake_settings(config: dict) -> LakeSettings:
    return LakeSettings(
        catalog=config["ducklake"],
        data_path=f"s3://{BUCKET}/ducklake/",
        s3_endpoint=config["endpoint"],
        s3_region=REGION,
        s3_key_id=KEY,
        s3_secret=SECRET,
    )


def ducklake_commit(settings: LakeSettings, config: dict, releases: dict[str, int], tables: int):
    """pipeline.lake's fan-in commit: every account in `releases`, every table, one commit."""
    return commit_accounts(
        settings,
        {
            a: AccountRelease(
                a,
                {
                    f"t{t}": handoff(config["folder"], a, t, n, config["rows"])
                    for t in range(tables)
                },
                sync_ids=[f"sync-{n}"],
            )
            for a, n in releases.items()
        },
    )


def ducklake_read(con, last: int) -> dict[str, tuple]:
    con.execute("begin")
    try:
        rows = con.execute(
            f"select f.account_id, f.release, l.release from"
            f" (select account_id, max(release) as release from lake.marts.t0 group by all) as f"
            f" full join (select account_id, max(release) as release from lake.marts.t{last}"
            f" group by all) as l using (account_id)"
        ).fetchall()
    finally:
        con.execute("commit")
    return {r[0]: (r[1], r[2]) for r in rows}


# ---- Iceberg --------------------------------------------------------------------------------


def iceberg_catalog(config: dict):
    from pyiceberg.catalog.sql import SqlCatalog

    return SqlCatalog(
        "bench",
        uri=config["iceberg"],
        warehouse=f"s3://{BUCKET}/iceberg",
        **{
            "s3.endpoint": config["endpoint"],
            "s3.access-key-id": KEY,
            "s3.secret-access-key": SECRET,
            "s3.region": REGION,
        },
    )


def iceberg_commit(catalog, config: dict, releases: dict[str, int], tables: int) -> None:
    from pyiceberg.expressions import In

    accounts = list(releases)
    for t in range(tables):
        data = pa.concat_tables(
            pq.read_table(handoff(config["folder"], a, t, releases[a], config["rows"]))
            for a in accounts
        )
        catalog.create_namespace_if_not_exists("marts")
        table = catalog.create_table_if_not_exists(f"marts.t{t}", schema=data.schema)
        table.overwrite(data, overwrite_filter=In("account_id", accounts))


def iceberg_reader_connection(config: dict):
    con = duckdb.connect()
    load_extensions(con, ["httpfs", "avro", "iceberg"])
    con.execute(
        "create secret (type s3, key_id ?, secret ?, region ?, endpoint ?, url_style 'path',"
        " use_ssl false)",
        [KEY, SECRET, REGION, config["endpoint"].removeprefix("http://")],
    )
    return con


def iceberg_location(pg, table: str) -> str:
    # DuckDB's iceberg extension reads a REST catalog or a metadata file, not pyiceberg's SQL
    # catalog: a reader looks the current metadata file up in the catalog table itself
    return pg.execute(
        "select metadata_location from iceberg_tables where table_name = %s", [table]
    ).fetchone()[0]


def iceberg_read(con, pg, last: int) -> dict[str, tuple]:
    first = con.execute(
        "select account_id, max(release) from iceberg_scan(?) group by all",
        [iceberg_location(pg, "t0")],
    ).fetchall()
    final = con.execute(
        "select account_id, max(release) from iceberg_scan(?) group by all",
        [iceberg_location(pg, f"t{last}")],
    ).fetchall()
    merged: dict[str, list] = {a: [r, None] for a, r in first}
    for a, r in final:
        merged.setdefault(a, [None, None])[1] = r
    return {a: tuple(v) for a, v in merged.items()}


# ---- the measurements -----------------------------------------------------------------------


class RetryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "retrying" in record.getMessage():
            self.count += 1


def concurrent_worker(system: str, config: dict, accounts: list[str], tables: int, queue) -> None:
    conflicts = failures = 0
    first_error = ""
    if system == "ducklake":
        settings = ducklake_settings(config)
        for account in accounts:
            for attempt in range(RETRIES + 1):
                try:
                    ducklake_commit(settings, config, {account: 2}, tables)
                    break
                except duckdb.Error as error:
                    conflicts += 1
                    first_error = first_error or f"{type(error).__name__}: {error}"
                    if attempt == RETRIES:
                        failures += 1
                    time.sleep(0.05 * (attempt + 1))
    else:
        counter = RetryCounter()
        logging.getLogger("pyiceberg").addHandler(counter)
        catalog = iceberg_catalog(config)
        for account in accounts:
            try:
                iceberg_commit(catalog, config, {account: 2}, tables)
            except Exception as error:
                failures += 1
                first_error = first_error or f"{type(error).__name__}: {error}"
        conflicts = counter.count
    queue.put((conflicts, failures, first_error))


def concurrent(system: str, config: dict, accounts: list[str], tables: int, processes: int):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [
        context.Process(
            target=concurrent_worker,
            args=(system, config, accounts[i::processes], tables, queue),
        )
        for i in range(processes)
    ]
    started = time.perf_counter()
    for w in workers:
        w.start()
    results = [queue.get(timeout=3600) for _ in workers]
    for w in workers:
        w.join()
    return (
        sum(r[0] for r in results),
        sum(r[1] for r in results),
        time.perf_counter() - started,
        next((r[2] for r in results if r[2]), ""),
    )


def reader_loop(system: str, config: dict, last: int, stop, queue) -> None:
    reads = errors = torn = 0
    if system == "ducklake":
        con = lake_connect(ducklake_settings(config))
        pg = None
    else:
        con = iceberg_reader_connection(config)
        pg = psycopg.connect(config["iceberg_pg"], autocommit=True)
    while not stop.is_set():
        try:
            seen = ducklake_read(con, last) if pg is None else iceberg_read(con, pg, last)
            reads += 1
            torn += any(first != final for first, final in seen.values())
        except Exception:
            errors += 1
    queue.put((reads, errors, torn))


def reader_during_commits(system: str, config: dict, accounts: list[str], tables: int):
    writer = open_writer(system, config)
    # (b) left its accounts' first tables a release ahead of the last: start from agreement
    commit(system, writer, config, dict.fromkeys(accounts, 9), tables)
    context = multiprocessing.get_context("spawn")
    stop, queue = context.Event(), context.Queue()
    reader = context.Process(target=reader_loop, args=(system, config, tables - 1, stop, queue))
    reader.start()
    time.sleep(3)  # the reader's connection is up before the commits start
    quarter = max(1, len(accounts) // 4)
    for n in range(20):
        chunk = accounts[(n % 4) * quarter : (n % 4 + 1) * quarter]
        commit(system, writer, config, dict.fromkeys(chunk, 10 + n), tables)
    stop.set()
    result = queue.get(timeout=120)
    reader.join()
    return result


def pinned(system: str, config: dict, accounts: list[str], tables: int) -> bool:
    writer = open_writer(system, config)
    commit(system, writer, config, dict.fromkeys(accounts, 100), tables)
    if system == "ducklake":
        before = current_snapshot(writer).snapshot_id
        commit(system, writer, config, dict.fromkeys(accounts, 101), tables)
        reader = lake_connect(writer, snapshot=before)
        seen = {r for pair in ducklake_read(reader, tables - 1).values() for r in pair}
        travelled = (
            lake_connect(writer)
            .execute("select distinct release from lake.marts.t0 at (version => ?)", [before])
            .fetchall()
        )
        return seen == {100} and travelled == [(100,)]
    table = writer.load_table("marts.t0")
    before = table.metadata_location
    commit(system, writer, config, dict.fromkeys(accounts, 101), tables)
    reader = iceberg_reader_connection(config)
    seen = reader.execute("select distinct release from iceberg_scan(?)", [before]).fetchall()
    return seen == [(100,)]


def open_writer(system: str, config: dict):
    return ducklake_settings(config) if system == "ducklake" else iceberg_catalog(config)


def commit(system: str, writer, config: dict, releases: dict[str, int], tables: int) -> None:
    (ducklake_commit if system == "ducklake" else iceberg_commit)(writer, config, releases, tables)


def scratch_database(admin_url: str, name: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as pg:
        pg.execute(f'create database "{name}"')
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as pg:
        pg.execute(f'drop database if exists "{name}" with (force)')


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--tables", type=int, default=15)
    parser.add_argument("--rows", type=int, default=300, help="rows per account and table")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--concurrent-tables", type=int, default=3)
    parser.add_argument("--postgres-url", default=DEFAULT_URL)
    args = parser.parse_args(argv)

    run = uuid.uuid4().hex[:8]
    names = {"ducklake": f"bench_ducklake_{run}", "iceberg": f"bench_iceberg_{run}"}
    accounts = [str(uuid.uuid4()) for _ in range(args.accounts)]
    systems = ("ducklake", "iceberg")
    with tempfile.TemporaryDirectory(prefix="bench-lake-") as folder, local_s3(BUCKET) as s3:
        try:
            urls = {s: scratch_database(args.postgres_url, n) for s, n in names.items()}
            config = {
                "folder": Path(folder),
                "rows": args.rows,
                "endpoint": s3,
                "ducklake": urls["ducklake"],
                "iceberg": urls["iceberg"].replace("postgresql://", "postgresql+psycopg://", 1),
                "iceberg_pg": urls["iceberg"],
            }
            report(config, accounts, args, systems)
        finally:
            for name in names.values():
                drop_database(args.postgres_url, name)


def report(config: dict, accounts: list[str], args, systems: Sequence[str]) -> None:
    print(
        f"{len(accounts)} accounts x {args.tables} tables x {args.rows} rows; catalog in"
        f" PostgreSQL, data on moto S3 at {config['endpoint']}"
    )
    writers = {s: open_writer(s, config) for s in systems}
    for s in systems:  # first sight: create the tables (not timed)
        commit(s, writers[s], config, dict.fromkeys(accounts, 1), args.tables)
    times: dict[str, list[float]] = {s: [] for s in systems}
    for repeat in range(args.repeats):
        for s in systems:  # interleaved: every system once per repeat
            releases = dict.fromkeys(accounts, 2 + repeat)
            started = time.perf_counter()
            commit(s, writers[s], config, releases, args.tables)
            times[s].append(time.perf_counter() - started)
    medians = {s: statistics.median(times[s]) for s in systems}
    print(f"\n(a) one fan-in writer, every account in every table, median of {args.repeats}:")
    for s in systems:
        commits = 1 if s == "ducklake" else args.tables
        print(f"    {s:9} {medians[s]:6.2f} s   ({commits} commit(s))")
    print(f"    iceberg / ducklake: {medians['iceberg'] / medians['ducklake']:.2f}x")

    print(
        f"\n(b) concurrent per-account replace, {len(accounts)} commits over"
        f" {args.concurrent_tables} tables:"
    )
    for processes in (2, 4):
        for s in systems:
            conflicts, failures, seconds, error = concurrent(
                s, config, accounts, args.concurrent_tables, processes
            )
            print(
                f"    {processes} processes {s:9} conflicts/retries {conflicts:3}  failed"
                f" {failures:2}  {seconds:6.1f} s"
            )
            if error:
                print(f"        first error: {error.splitlines()[0][:160]}")

    print(f"\n(c) a reader looping during 20 fan-in commits over {args.tables} tables:")
    for s in systems:
        reads, errors, torn = reader_during_commits(s, config, accounts, args.tables)
        print(f"    {s:9} reads {reads:4}  errors {errors:3}  torn {torn:3}")

    print("\n(d) a reader pinned to a snapshot still sees it after the next commit:")
    for s in systems:
        print(f"    {s:9} {'yes' if pinned(s, config, accounts, args.tables) else 'NO'}")


if __name__ == "__main__":
    main()
