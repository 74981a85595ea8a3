"""Shared by the PostgreSQL publish tests: releases in which some accounts changed (as a
fan-in would make them: rows replaced and a new account release id), and what PostgreSQL
holds per account."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import orjson
import psycopg
import sqlalchemy as sa

from pipeline.publish import exports, postgres
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, parquet_source

DSN = sa.engine.make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)
# The two tables a reader compares per account: a daily fact and a dimension.
PAIR = ("fct_velocity_weekly", "dim_projects")


def accounts(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute("select account_id from meta.account_releases order by 1").fetchall()
    return [a for (a,) in rows]


def change_account(con: duckdb.DuckDBPyConnection, account_id: str, tag: str, drop: int) -> None:
    """The account's next release: `drop` fewer rows in each of PAIR, and a new release id
    in meta.account_releases (what the fan-in writes when the account's release changed)."""
    for table in PAIR:
        con.execute(
            f"delete from marts.{table} where rowid in (select rowid from marts.{table} "
            "where account_id = ? order by rowid limit ?)",
            [account_id, drop],
        )
    con.execute(
        "update meta.account_releases set release_id = ? where account_id = ?", [tag, account_id]
    )


def remove_account(con: duckdb.DuckDBPyConnection, account_id: str) -> None:
    """What the fan-in does for an account no longer registered."""
    tables = con.execute(
        "select table_name from duckdb_columns() where schema_name = 'marts' "
        "and column_name = 'account_id'"
    ).fetchall()
    for (table,) in tables:
        con.execute(f"delete from marts.{table} where account_id = ?", [account_id])
    con.execute("delete from meta.account_releases where account_id = ?", [account_id])


def release_counts(root: Path, manifest: dict) -> dict[str, dict[str, int]]:
    """table -> account -> rows, as the release's Parquet holds them."""
    release = root / "releases" / manifest["release_id"]
    con = duckdb.connect()
    try:
        return {
            name: dict(
                con.execute(
                    f"select account_id, count(*) from {parquet_source(release, spec)} group by 1"
                ).fetchall()
            )
            for name, spec in manifest["tables"].items()
            if any(c["name"] == "account_id" for c in spec["columns"])
        }
    finally:
        con.close()


def pg_counts(connection: psycopg.Connection, schema: str, tables) -> dict[str, dict[str, int]]:
    """table -> account -> rows, through the bi_ views."""
    return {
        name: dict(
            connection.execute(
                f"select account_id, count(*) from {schema}.bi_{name} group by 1"
            ).fetchall()
        )
        for name in tables
    }


def row_versions(connection: psycopg.Connection, schema: str, tables, account_id: str) -> set:
    """(table, ctid, xmin) of every row of the account: a replaced row gets a new xmin."""
    found = set()
    for name in tables:
        rows = connection.execute(
            f"select ctid::text, xmin::text from {schema}.{name} where account_id = %s",
            [account_id],
        ).fetchall()
        found |= {(name, ctid, xmin) for ctid, xmin in rows}
    return found


def held_releases(connection: psycopg.Connection, schema: str) -> dict[str, tuple]:
    """account -> (account_release_id, release_id) from the account_releases view."""
    rows = connection.execute(
        f"select account_id, account_release_id, release_id from {schema}.account_releases"
    ).fetchall()
    return {a: (r, e) for a, r, e in rows}


def write_release(con: duckdb.DuckDBPyConnection, root: Path, **options) -> dict:
    return exports.write_release(con, root, include_free_text=options.get("free_text", False))


@contextmanager
def session(isolation: str = "read committed", autocommit: bool = False):
    connection = psycopg.connect(DSN, autocommit=autocommit)
    if not autocommit:
        connection.execute(
            f"set session characteristics as transaction isolation level {isolation}"
        )
        connection.commit()
    try:
        yield connection
    finally:
        connection.close()


def clone_release(root: Path, release_id: str, new_id: str, account_releases: dict) -> dict:
    """A copy of a release under another id, its accounts' own release ids replaced as given
    (many publishes that each change those accounts, cheaply); returns its manifest."""
    source = root / "releases" / release_id
    target = root / "releases" / new_id
    shutil.copytree(source, target)
    manifest = orjson.loads((target / "manifest.json").read_bytes())
    manifest["release_id"] = new_id
    for entry in manifest["source"]:
        entry["account_release_id"] = account_releases.get(
            entry["account_id"], entry["account_release_id"]
        )
    (target / "manifest.json").write_bytes(orjson.dumps(manifest))
    return manifest


def current_tables(schema: str) -> str:
    """The schema whose tables the stable views read now."""
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            return postgres.current_release_schema(connection, schema)
    finally:
        engine.dispose()
