"""Model unit tests: given a few input rows, run one model's SQL in memory, get its rows.

    rows = run_model("fct_velocity_weekly", {
        "staging.stg_buildos__tasks": [{"account_id": "a", ...}],
        ...
    })

Each input is created as a table from the given rows (column types inferred by DuckDB, or
forced with `types={"schema.table": {"column": "timestamptz"}}`); the model's SQL runs against
them exactly as in the pipeline.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from pipeline.models import load_models

MODELS = {model.name: model for model in load_models()}


def ts(text: str) -> datetime:
    """A UTC timestamp from '2026-03-01 12:00' (or with seconds)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


def _build_upstream(con, model, inputs: dict, name: str, seen: tuple = ()) -> None:
    """Models this one reads that were not given are built from the given rows, with their own
    SQL (so a mart's test can give staging rows and get the intermediates built)."""
    for schema, table in model.refs:
        relation = f"{schema}.{table}"
        if relation in inputs or table in seen:
            continue
        upstream = MODELS.get(table)
        if upstream is None or upstream.layer != schema:
            raise AssertionError(f"{name} also reads {relation}: give rows (or []) for it")
        if con.execute(
            "select count(*) from information_schema.tables where table_schema = ? "
            "and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]:
            continue
        _build_upstream(con, upstream, inputs, name, (*seen, table))
        con.execute(f"create schema if not exists {schema}")
        con.execute(f"create table {relation} as {upstream.sql}")


def run_model(
    name: str, inputs: dict[str, list[dict]], types: dict | None = None, order_by: str | None = None
) -> list[dict]:
    model = MODELS[name]
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    for relation, rows in inputs.items():
        schema = relation.split(".")[0]
        con.execute(f"create schema if not exists {schema}")
        forced = (types or {}).get(relation, {})
        if rows:
            known = MODELS.get(relation.split(".")[1])
            if known is not None:  # columns the model documents but the test left out: null
                rows = [{**dict.fromkeys(known.columns), **row} for row in rows]
            arrow = pa.Table.from_pylist(rows)
            con.register("input_rows", arrow)
            casts = ", ".join(
                f"cast({column} as {forced[column]}) as {column}" if column in forced else column
                for column in arrow.column_names
            )
            con.execute(f"create table {relation} as select {casts} from input_rows")
            con.unregister("input_rows")
        else:
            columns = ", ".join(f"{c} {t}" for c, t in forced.items())
            con.execute(f"create table {relation} ({columns})")
    _build_upstream(con, model, inputs, name)
    cursor = con.execute(
        f"select * from ({model.sql}) as model_rows" + (f" order by {order_by}" if order_by else "")
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
