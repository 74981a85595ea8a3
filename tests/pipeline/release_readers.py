"""BI readers in processes of their own, for tests/pipeline/test_release_readers.py: each one
reads one output (the lake, the Parquet release, the serving file or PostgreSQL) in a loop
until STOP appears, and writes what it saw to OUT (JSON).

python -m tests.pipeline.release_readers KIND SETTINGS_JSON READY STOP OUT

Every account's release of round n says so in every table the readers look at: dim_accounts
and each row of fct_project_completion and fct_project_status carry as_of_at = BASE + n hours,
dim_projects and those two marts hold projects_in(n) rows, and the release's sync is
`round-<n>`. A read is torn when, for some account, these disagree, or when it shows an older
round than an earlier read of the same output did. A reader knows the outputs only by their
public names: lake.bi.*, exports/current (manifest.json, views.sql), analytics.duckdb and the
stable bi_ views in PostgreSQL.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BASE = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MAX_SECONDS = 300  # a stuck test never leaves this process behind for long
PAUSE = 0.3  # between reads: four readers and the writer share two cores


def as_of(number: int) -> datetime:
    return BASE + timedelta(hours=number)


def round_of(moment: datetime) -> int:
    return round((moment.astimezone(UTC) - BASE) / timedelta(hours=1))


def projects_in(number: int) -> int:
    """Rows of dim_projects (and of the two marts) in an account's release of round n: the
    count changes from one round to the next, so a read mixing two rounds shows it."""
    return 1 + number % 3


def sync_of(number: int) -> str:
    return f"round-{number}"


# Per account: dim_accounts' marker; min, max and count of the marts' markers; dim_projects'
# count. Plain SQL, the same in DuckDB and PostgreSQL; {bi} is where the bi views are.
QUERIES = {
    "accounts": "select account_id, as_of_at from {bi}dim_accounts",
    "completion": "select account_id, min(as_of_at), max(as_of_at), count(*) "
    "from {bi}fct_project_completion group by account_id",
    "status": "select account_id, min(as_of_at), max(as_of_at), count(*) "
    "from {bi}fct_project_status group by account_id",
    "projects": "select account_id, count(*) from {bi}dim_projects group by account_id",
}


def read_rounds(execute, bi: str) -> dict[str, int]:
    """account -> the round its rows are from, read with `execute(sql) -> rows` (inside one
    transaction or one file the caller holds); raises Torn if the tables disagree."""
    rows = {name: execute(sql.format(bi=bi)) for name, sql in QUERIES.items()}
    marts = {name: {r[0]: r[1:] for r in rows[name]} for name in ("completion", "status")}
    projects = dict(rows["projects"])
    rounds = {}
    for account_id, moment in rows["accounts"]:
        number = round_of(moment)
        expected = (moment, moment, projects_in(number))
        for name, held in marts.items():
            if held.get(account_id) != expected:
                raise Torn(f"{account_id}: dim_accounts says round {number}, {name} {held}")
        if projects.get(account_id) != projects_in(number):
            raise Torn(f"{account_id}: round {number}, {projects.get(account_id)} projects")
        rounds[account_id] = number
    strays = (set(projects) | set(marts["completion"]) | set(marts["status"])) - set(rounds)
    if strays:
        raise Torn(f"rows of accounts dim_accounts does not hold: {sorted(strays)}")
    return rounds


class Torn(Exception):
    """Two views that must agree did not."""


def read_lake(con, settings: dict) -> dict[str, int]:
    """The lake's newest snapshot, in one read-only transaction: the marts through lake.bi,
    and the syncs meta.account_releases names."""
    con.execute("begin")
    try:
        rounds = read_rounds(lambda sql: con.execute(sql).fetchall(), "lake.bi.")
        held = dict(
            con.execute("select account_id, sync_ids from lake.meta.account_releases").fetchall()
        )
    finally:
        con.execute("commit")
    _same_syncs(rounds, {a: ",".join(s) for a, s in held.items()}, "lake")
    return rounds


def read_parquet_release(root: Path, settings: dict) -> dict[str, int]:
    """exports/current resolved once: views.sql's bi views in a new DuckDB, the manifest's
    syncs, and the lake pinned to the snapshot the manifest names, which holds the same."""
    import duckdb

    from pipeline.lake import LakeSettings, connect

    release = Path(os.path.realpath(root / "current"))
    manifest = json.loads((release / "manifest.json").read_text())
    con = duckdb.connect()
    try:
        con.execute((release / "views.sql").read_text())
        rounds = read_rounds(lambda sql: con.execute(sql).fetchall(), "bi.")
        [(release_id,)] = con.execute("select release_id from meta.release").fetchall()
    finally:
        con.close()
    if release_id != manifest["release_id"] or release.name != release_id:
        raise Torn(f"views.sql names {release_id}, folder {release.name}")
    _same_syncs(rounds, {s["account_id"]: s["sync_id"] for s in manifest["source"]}, "manifest")
    pinned = connect(LakeSettings(**settings), snapshot=manifest["lake_snapshot"])
    try:
        in_lake = read_rounds(lambda sql: pinned.execute(sql).fetchall(), "lake.bi.")
    finally:
        pinned.close()
    if in_lake != rounds:
        raise Torn(f"lake snapshot {manifest['lake_snapshot']}: {in_lake}, release: {rounds}")
    return rounds


def read_serving(root: Path, settings: dict) -> dict[str, int]:
    """analytics.duckdb opened read-only and closed again: its bi views agree, and with the
    syncs of the release it names (while that release's folder is still kept)."""
    import duckdb

    con = duckdb.connect(str(root / "analytics.duckdb"), read_only=True)
    try:
        rounds = read_rounds(lambda sql: con.execute(sql).fetchall(), "bi.")
        [(release_id,)] = con.execute("select release_id from meta.release").fetchall()
    finally:
        con.close()
    try:
        manifest = json.loads((root / "releases" / release_id / "manifest.json").read_text())
    except FileNotFoundError:
        return rounds  # pruned since: three newer releases were published meanwhile
    _same_syncs(rounds, {s["account_id"]: s["sync_id"] for s in manifest["source"]}, release_id)
    return rounds


def read_postgres(con, settings: dict) -> dict[str, int]:
    """The stable bi_ views in one repeatable-read transaction."""
    schema = settings["schema"]
    with con.transaction():
        con.execute("set transaction isolation level repeatable read")
        return read_rounds(lambda sql: con.execute(sql).fetchall(), f"{schema}.bi_")


def _same_syncs(rounds: dict[str, int], syncs: dict, where: str) -> None:
    for account_id, number in rounds.items():
        if syncs.get(account_id) != sync_of(number):
            raise Torn(f"{account_id}: round {number}, {where} names {syncs.get(account_id)}")


def open_output(kind: str, settings: dict):
    """What a reader of `kind` keeps between reads: a connection, or the exports folder."""
    if kind == "lake":
        from pipeline.lake import LakeSettings, connect

        return connect(LakeSettings(**settings["lake"]))
    if kind == "postgres":
        import psycopg

        return psycopg.connect(settings["postgres"]["url"], autocommit=True)
    return Path(settings["exports"])


READERS = {
    "lake": (read_lake, "lake"),
    "parquet": (read_parquet_release, "lake"),
    "serving": (read_serving, "lake"),
    "postgres": (read_postgres, "postgres"),
}


def main(kind: str, settings_json: str, ready: Path, stop: Path, out: Path) -> None:
    settings = json.loads(settings_json)
    read, part = READERS[kind]
    held = open_output(kind, settings)
    seen: dict = {"reads": 0, "errors": 0, "torn": 0, "went_back": 0, "first": None}
    rounds: set[int] = set()
    latest: dict[str, int] = {}
    deadline = time.monotonic() + MAX_SECONDS
    while not stop.exists() and time.monotonic() < deadline:
        try:
            now = read(held, settings[part])
            seen["reads"] += 1
            rounds |= set(now.values())
            for account_id, number in now.items():
                if number < latest.get(account_id, number):
                    seen["went_back"] += 1
                    seen["first"] = (
                        seen["first"] or f"{account_id}: {latest[account_id]} -> {number}"
                    )
                latest[account_id] = number
        except Torn as torn:
            seen["torn"] += 1
            seen["first"] = seen["first"] or f"torn: {torn}"
        except Exception as error:  # every failure is a finding: count it, keep reading
            seen["errors"] += 1
            seen["first"] = seen["first"] or f"{type(error).__name__}: {error}"
        if not ready.exists():
            ready.touch()
        time.sleep(PAUSE)
    seen["rounds"] = sorted(rounds)
    out.write_text(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(Path(a) for a in sys.argv[3:6]))
