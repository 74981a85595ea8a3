"""PostgreSQL readers never wait for a publish for longer than its lock_timeout, a publish never
waits for a reader past its attempts, and every reader sees one release whole: never an empty
table, never a mix, never a deadlock, in read committed and repeatable read."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from pipeline import warehouse
from pipeline.publish import exports, postgres
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, clone_release, publish_files

pytestmark = pytest.mark.postgres

DSN = sa.engine.make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
FAST = postgres.SwitchPolicy(lock_timeout_ms=200, attempts=5, backoff_seconds=0.1, grace_seconds=0)
CHANGED = "fct_velocity_weekly"


@pytest.fixture
def two_releases(pipeline_db, tmp_path) -> tuple[Path, dict[str, dict[str, int]]]:
    """Two releases whose row counts differ (release id -> table -> rows)."""
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        first = publish_files(con, root)
        con.execute(
            f"delete from marts.{CHANGED} where rowid in "
            f"(select rowid from marts.{CHANGED} order by rowid limit 7)"
        )
        second = exports.write_release(con, root, include_free_text=False)
    finally:
        con.close()
    counts = {
        m["release_id"]: {name: spec["rows"] for name, spec in m["tables"].items()}
        for m in (first, second)
    }
    assert len({c[CHANGED] for c in counts.values()}) == 2
    return root, counts


@contextmanager
def reader(isolation: str) -> Iterator[psycopg.Connection]:
    connection = psycopg.connect(DSN, autocommit=False)
    connection.execute(f"set session characteristics as transaction isolation level {isolation}")
    connection.commit()
    try:
        yield connection
    finally:
        connection.close()


def read_release(connection: psycopg.Connection, schema: str) -> tuple[str, dict[str, int]]:
    """The release id and the row counts of two bi_ views, inside the caller's transaction."""
    (release_id,) = connection.execute(f"select release_id from {schema}.release").fetchone()
    counts = {
        name: connection.execute(f"select count(*) from {schema}.bi_{name}").fetchone()[0]
        for name in ("dim_projects", CHANGED)
    }
    return release_id, counts


def test_a_reader_holding_a_transaction_for_30_s_never_stalls_the_publish(two_releases, pg_schema):
    root, counts = two_releases
    first, second = counts
    postgres.publish_release(POSTGRES_URL, root, first, pg_schema, FAST)
    seen, ended = [], threading.Event()
    started = threading.Event()
    pids = []

    def hold() -> None:
        # psql's default: read committed, one bi_ view read, then the transaction left open.
        with reader("read committed") as connection:
            pids.append(connection.info.backend_pid)
            seen.append(read_release(connection, pg_schema))
            started.set()
            until = time.monotonic() + 30
            while time.monotonic() < until:
                time.sleep(1)
                seen.append(read_release(connection, pg_schema))
            connection.commit()
        ended.set()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert started.wait(60)
        new_readers = []
        publishing = threading.Thread(
            target=lambda: new_readers.append(_publish_or_error(root, second, pg_schema))
        )
        publishing.start()
        # New readers keep reading while the publish waits for its locks (each waits at most
        # one lock_timeout): none of them hits its statement timeout.
        fresh = []
        while publishing.is_alive():
            with reader("read committed") as connection:
                connection.execute("set statement_timeout = '5s'")
                fresh.append(read_release(connection, pg_schema))
                connection.commit()
        publishing.join()
        outcome = new_readers[0]
        # The publish gave way after its attempts, while the reader was still in its
        # transaction, and named the reader.
        assert not ended.is_set()
        assert isinstance(outcome, postgres.SwitchBlocked), outcome
        assert f"PID {pids[0]}" in str(outcome)
        assert fresh and all(r == (first, _two(counts[first])) for r in fresh)
    finally:
        holder.join()
    assert len(seen) >= 30
    assert all(r == (first, _two(counts[first])) for r in seen)
    # Once the reader has gone, the same release publishes, and nothing is left behind.
    postgres.publish_release(POSTGRES_URL, root, second, pg_schema, FAST)
    with reader("read committed") as connection:
        assert read_release(connection, pg_schema) == (second, _two(counts[second]))
        schemas = connection.execute(
            "select nspname from pg_namespace where starts_with(nspname, %s)", [pg_schema + "__"]
        ).fetchall()
    assert schemas == [(postgres.release_schema(pg_schema, second),)]


def test_a_repeatable_read_snapshot_older_than_the_release_keeps_it_from_switching(
    two_releases, pg_schema
):
    """A repeatable-read transaction that began before the build but reads the views only
    after it: switching under it would show it empty tables, so the switch waits, then gives
    way; the reader sees the old release whole."""
    root, counts = two_releases
    first, second = counts
    postgres.publish_release(POSTGRES_URL, root, first, pg_schema, FAST)
    with reader("repeatable read") as connection:
        connection.execute("select 1")  # the snapshot is taken here
        with pytest.raises(postgres.SwitchBlocked, match=f"PID {connection.info.backend_pid}"):
            postgres.publish_release(POSTGRES_URL, root, second, pg_schema, FAST)
        assert read_release(connection, pg_schema) == (first, _two(counts[first]))
        connection.commit()


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_20_publishes_under_concurrent_readers_give_no_errors(two_releases, pg_schema, isolation):
    root, counts = two_releases
    first, second = counts
    releases = [
        clone_release(root, (first, second)[n % 2], f"{exports.new_release_id()}-{n:02d}")
        for n in range(20)
    ]
    expected = {r: _two(counts[first if n % 2 == 0 else second]) for n, r in enumerate(releases)}
    postgres.publish_release(POSTGRES_URL, root, first, pg_schema, FAST)
    expected[first] = _two(counts[first])
    stop = threading.Event()
    reads, errors = [], []

    def read_loop() -> None:
        with reader(isolation) as connection:
            while not stop.is_set():
                try:
                    release_id, seen = read_release(connection, pg_schema)
                    # Within one transaction a repeatable-read reader stays on its release.
                    again = connection.execute(f"select release_id from {pg_schema}.release")
                    if isolation == "repeatable read" and again.fetchone()[0] != release_id:
                        errors.append(f"release changed within a transaction: {release_id}")
                    connection.commit()
                    reads.append(release_id)
                    if seen != expected[release_id] or 0 in seen.values():
                        errors.append(f"{release_id}: {seen} != {expected[release_id]}")
                except Exception as error:  # every failure is a finding
                    connection.rollback()
                    errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.005)

    threads = [threading.Thread(target=read_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    policy = postgres.SwitchPolicy(lock_timeout_ms=200, attempts=20, grace_seconds=0)
    try:
        results = [
            postgres.publish_release(POSTGRES_URL, root, r, pg_schema, policy) for r in releases
        ]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert all(not r["already_published"] for r in results)
    assert len(set(reads)) >= 10, "the readers saw too few releases to prove anything"
    with reader("read committed") as connection:
        assert read_release(connection, pg_schema) == (releases[-1], expected[releases[-1]])


def _two(counts: dict[str, int]) -> dict[str, int]:
    return {name: counts[name] for name in ("dim_projects", CHANGED)}


def _publish_or_error(root: Path, release_id: str, schema: str):
    try:
        return postgres.publish_release(POSTGRES_URL, root, release_id, schema, FAST)
    except Exception as error:
        return error
