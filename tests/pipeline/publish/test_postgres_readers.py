"""PostgreSQL readers and publishes never hold each other up past a deadline, and a reader
sees every account whole, at its previous release or its new one: 20 per-account publishes
under looping readers in read committed and repeatable read, readers holding transactions
open, a session locking an account's rows or a table, and the schema switch of a contract
change."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from pipeline import warehouse
from pipeline.publish import exports, postgres
from tests.pipeline.publish.postgres_changes import (
    PAIR,
    accounts,
    change_account,
    clone_release,
    current_tables,
    held_releases,
    row_versions,
    session,
    write_release,
)
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, parquet_source

pytestmark = pytest.mark.postgres

FAST = postgres.SwitchPolicy(lock_timeout_ms=200, attempts=5, backoff_seconds=0.1, grace_seconds=0)


def per_account(connection, schema: str) -> dict[str, tuple]:
    """account -> (its account release, rows in each of PAIR), read in one statement: one
    snapshot, even in read committed."""
    first, second = PAIR
    rows = connection.execute(
        f"select r.account_id, r.account_release_id, "
        f"(select count(*) from {schema}.bi_{first} as t where t.account_id = r.account_id), "
        f"(select count(*) from {schema}.bi_{second} as t where t.account_id = r.account_id) "
        f"from {schema}.account_releases as r"
    ).fetchall()
    return {account: (release, (a, b)) for account, release, a, b in rows}


@pytest.fixture
def variants(pipeline_db, tmp_path):
    """Two releases of the 3 accounts; in the second, the first two accounts have fewer rows
    in both tables of PAIR. Returns the exports root, both manifests, the account ids and
    account -> variant -> row counts of PAIR."""
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        ids = accounts(con)
        first = write_release(con, root)
        for account in ids[:2]:
            change_account(con, account, f"{account}-v1", drop=2)
        second = write_release(con, root)
    finally:
        con.close()
    counts = {}
    for account in ids:
        counts[account] = {}
        for variant, manifest in enumerate((first, second)):
            counts[account][variant] = _pair_counts(root, manifest, account)
    # A mix of the two variants in one account would match neither.
    assert all(counts[a][0][i] != counts[a][1][i] for a in ids[:2] for i in (0, 1))
    return root, (first, second), ids, counts


def _pair_counts(root: Path, manifest: dict, account: str) -> tuple[int, int]:
    release = root / "releases" / manifest["release_id"]
    con = duckdb.connect()
    try:
        return tuple(
            con.execute(
                f"select count(*) from {parquet_source(release, manifest['tables'][t])} "
                "where account_id = ?",
                [account],
            ).fetchone()[0]
            for t in PAIR
        )
    finally:
        con.close()


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_20_publishes_under_looping_readers_never_show_a_torn_account(
    variants, pg_schema, isolation
):
    root, (first, second), ids, counts = variants
    moving, still = ids[:2], ids[2]
    postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema, FAST)
    # Every publish changes the first two accounts, alternating between the variants; the
    # account release each clone names says which rows it holds.
    expected = {
        (s["account_id"], s["account_release_id"]): counts[s["account_id"]][0]
        for s in first["source"]
    }
    releases = []
    for n in range(20):
        variant = (second, first)[n % 2]
        tags = {a: f"{a}-p{n:02d}" for a in moving}
        clone = clone_release(
            root, variant["release_id"], f"{exports.new_release_id()}-{n:02d}", tags
        )
        releases.append(clone["release_id"])
        expected |= {(a, tag): counts[a][1 - n % 2] for a, tag in tags.items()}
    tables = current_tables(pg_schema)
    with session(autocommit=True) as connection:
        untouched = row_versions(connection, tables, PAIR, still)
    stop = threading.Event()
    seen, errors = set(), []

    def read_loop() -> None:
        with session(isolation) as connection:
            while not stop.is_set():
                try:
                    found = per_account(connection, pg_schema)
                    if (
                        isolation == "repeatable read"
                        and per_account(connection, pg_schema) != found
                    ):
                        errors.append("an account changed within a repeatable-read transaction")
                    connection.commit()
                    if set(found) != set(ids):
                        errors.append(f"accounts {sorted(found)}")
                    for account, (release, pair) in found.items():
                        seen.add(release)
                        if expected.get((account, release)) != pair:
                            errors.append(f"torn: {account} at {release} shows {pair}")
                except Exception as error:  # every failure is a finding
                    connection.rollback()
                    errors.append(f"{type(error).__name__}: {error}")
                time.sleep(0.002)

    threads = [threading.Thread(target=read_loop) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        results = [
            postgres.publish_release(POSTGRES_URL, root, r, pg_schema, FAST) for r in releases
        ]
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert all(r["mode"] == "per_account" and r["accounts_replaced"] == 2 for r in results)
    assert len(seen) >= 10, "the readers saw too few releases to prove anything"
    with session(autocommit=True) as connection:
        assert row_versions(connection, tables, PAIR, still) == untouched
        final = per_account(connection, pg_schema)
    assert {a: final[a][0] for a in moving} == {a: f"{a}-p19" for a in moving}


def test_readers_holding_transactions_open_do_not_hold_up_the_publish(variants, pg_schema):
    """psql's default (read committed, a view read, the transaction left open) and a
    repeatable-read snapshot taken before the publish: the publish goes through at its first
    attempt, and the repeatable-read reader keeps seeing every account's previous rows."""
    root, (first, second), ids, counts = variants
    postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema, FAST)
    with session("read committed") as idle, session("repeatable read") as old:
        idle.execute(f"select count(*) from {pg_schema}.bi_{PAIR[0]}").fetchone()
        before = per_account(old, pg_schema)
        result = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema, FAST)
        assert result["accounts_replaced"] == 2 and result["switch_attempts"] == 1
        assert per_account(old, pg_schema) == before
        assert {a: p for a, (_, p) in before.items()} == {a: counts[a][0] for a in ids}
        after = per_account(idle, pg_schema)  # read committed: the next statement sees it
        assert {a: p for a, (_, p) in after.items()} == {a: counts[a][1] for a in ids}
        idle.commit()
        old.commit()


def test_a_session_locking_an_accounts_rows_is_given_way_to_and_named(variants, pg_schema):
    """A session holding one account's rows (select ... for share) for longer than the
    publish's attempts: the publish replaces the other account, then fails naming the
    session; the held account stays at its previous release, whole; once the session ends,
    the next publish brings it over."""
    root, (first, second), ids, counts = variants
    held, other = ids[:2]
    postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema, FAST)
    tables = current_tables(pg_schema)
    before = {s["account_id"]: s["account_release_id"] for s in first["source"]}
    with session("read committed") as locker:
        locker.execute(
            f"select 1 from {tables}.{PAIR[1]} where account_id = %s for share", [held]
        ).fetchall()
        with pytest.raises(postgres.AccountsBlocked) as blocked:
            postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema, FAST)
        assert f"PID {locker.info.backend_pid}" in str(blocked.value)
        assert "RowShareLock" in str(blocked.value)
        assert blocked.value.accounts == [held]
        with session("read committed") as reader:
            found = per_account(reader, pg_schema)
            reader.commit()
        assert found[held] == (before[held], counts[held][0])
        assert found[other] == (f"{other}-v1", counts[other][1])
        with session(autocommit=True) as connection:
            (release_id,) = connection.execute(
                f"select release_id from {pg_schema}.release"
            ).fetchone()
        assert release_id == first["release_id"]  # not every account is there yet
        locker.commit()
    again = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema, FAST)
    assert (again["accounts_replaced"], again["accounts_unchanged"]) == (1, 2)
    with session(autocommit=True) as connection:
        found = per_account(connection, pg_schema)
        assert held_releases(connection, pg_schema)[held][1] == second["release_id"]
    assert {a: p for a, (_, p) in found.items()} == {a: counts[a][1] for a in ids}


def test_a_session_locking_a_table_stops_the_publish_at_its_deadline(variants, pg_schema):
    """`lock table ... in share mode` held through the publish blocks every account: once the
    deadline has passed the publish stops trying, fails naming the session, and every account
    stays whole at its previous release."""
    root, (first, second), ids, counts = variants
    postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema, FAST)
    tables = current_tables(pg_schema)
    short = postgres.SwitchPolicy(
        lock_timeout_ms=100, attempts=3, backoff_seconds=0.05, grace_seconds=0, deadline_seconds=0.5
    )
    with session("read committed") as locker:
        locker.execute(f"lock table {tables}.{PAIR[0]} in share mode")
        with pytest.raises(postgres.AccountsBlocked) as blocked:
            postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema, short)
        assert f"PID {locker.info.backend_pid}" in str(blocked.value)
        assert "ShareLock" in str(blocked.value)
        assert blocked.value.accounts == sorted(ids[:2])
        with session("read committed") as reader:
            found = per_account(reader, pg_schema)
            reader.commit()
        assert {a: p for a, (_, p) in found.items()} == {a: counts[a][0] for a in ids}
        locker.commit()
    again = postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema, FAST)
    assert again["accounts_replaced"] == 2


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read"])
def test_a_contract_switch_gives_way_to_a_reader_and_names_it(
    pipeline_db, tmp_path, pg_schema, isolation
):
    """The schema switch (a contract change) waits for a reader holding the views (read
    committed) or a snapshot older than the new schema (repeatable read) no longer than its
    attempts, names it, and leaves the previous schema whole."""
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        first = write_release(con, root)
        wider = write_release(con, root, free_text=True)
    finally:
        con.close()
    postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema, FAST)
    with session(isolation) as reader:
        before = per_account(reader, pg_schema)
        with pytest.raises(postgres.SwitchBlocked, match=f"PID {reader.info.backend_pid}"):
            postgres.publish_release(POSTGRES_URL, root, wider["release_id"], pg_schema, FAST)
        assert per_account(reader, pg_schema) == before
        reader.commit()
    result = postgres.publish_release(POSTGRES_URL, root, wider["release_id"], pg_schema, FAST)
    assert result["mode"] == "schema_switch"
    with session(autocommit=True) as connection:
        schemas = connection.execute(
            "select nspname from pg_namespace where starts_with(nspname, %s)", [pg_schema + "__"]
        ).fetchall()
    # grace_seconds = 0: the replaced schema is dropped at once, the failed build is gone.
    assert schemas == [(postgres.release_schema(pg_schema, wider["release_id"]),)]
