"""The `bi` views inside the lake, so a DuckDB user who attaches it reads the same contract as
the serving file. DuckLake stores views and a view's comment, but not comments on a view's
columns ("Cannot comment on columns for entry ... it is not a table"), so the column docs go
on the marts tables the views select from, where the same catalog shows them."""

from __future__ import annotations

import duckdb

from pipeline.publish.contract import (
    ACCOUNTS,
    comment_statements,
    is_labelled,
    public_tables,
    quote_literal,
    view_sql,
)
from pipeline.warehouse import IDENTIFIER


def write_bi_views(con: duckdb.DuckDBPyConnection, *, alias: str = "lake") -> dict[str, int]:
    """Create or replace lake.bi.<mart> for every public mart the lake holds, with the mart's
    description on the view and its column docs on the mart's columns, in one commit; con has
    the lake attached writable as `alias`. Returns rows per view."""
    if not IDENTIFIER.match(alias):
        raise ValueError(f"not a safe catalog alias: {alias!r}")
    con.execute("begin")
    try:
        write_views_in(con, alias)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    public = {t.name for t in public_tables()}
    return {
        f"bi.{name}": con.execute(f"select count(*) from {alias}.bi.{name}").fetchone()[0]
        for name in sorted(_columns(con, alias))
        if name in public
    }


def write_views_in(con: duckdb.DuckDBPyConnection, alias: str) -> None:
    """The bi views and their docs, inside the transaction con has open (a fan-in commit
    writes them with the tables they read, so one snapshot holds both)."""
    held = _columns(con, alias)
    con.execute(f"create schema if not exists {alias}.bi")
    for table in public_tables():
        names = held.get(table.name)
        if not names:
            continue
        view = f"{alias}.bi.{table.name}"
        labelled = ACCOUNTS in held and is_labelled(table, names)
        accounts = f"marts.{ACCOUNTS}" if labelled else None
        # inside the lake a view names its tables without the catalog: DuckDB binds them in
        # the catalog the view lives in, whatever alias a reader attaches the lake as
        con.execute(view_sql(view, names, f"marts.{table.name}", accounts))
        con.execute(f"comment on view {view} is {quote_literal(table.description)}")
        relation = f"{alias}.marts.{table.name}"
        for statement in comment_statements(table, relation, names, "table")[1:]:
            con.execute(statement)


def views_missing(con: duckdb.DuckDBPyConnection, alias: str) -> bool:
    """Whether some public mart the lake holds has no bi view yet."""
    public = {t.name for t in public_tables()}
    views = {
        name
        for (name,) in con.execute(
            "select view_name from duckdb_views() where database_name = ? and schema_name = 'bi'",
            [alias],
        ).fetchall()
    }
    return bool((set(_columns(con, alias)) & public) - views)


def _columns(con: duckdb.DuckDBPyConnection, alias: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from duckdb_columns() where database_name = ? "
        "and schema_name = 'marts' order by table_name, column_index",
        [alias],
    ).fetchall():
        found.setdefault(table, []).append(column)
    return found
