"""Model unit tests: given a few input rows, run one model's SQL in memory, get its rows.

    rows = run_model("fct_velocity_weekly", {
        "staging.stg_buildos__tasks": [{"account_id": "a", ...}],
        ...
    })

Each input is created as a view over the given rows (column types inferred by DuckDB, or
forced with `types={"schema.table": {"column": "timestamptz"}}`); the model's SQL runs against
them exactly as in the pipeline. The day spine (intermediate.int_dates) is a wide calendar
built by its own SQL over 2020-2030, unless the test gives it or is a test of the spine itself.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache

import duckdb
import pyarrow as pa

from pipeline.models import load_models
from pipeline.resources import (
    DEFAULT_EFFORT_WEIGHTS,
    DEFAULT_RISK_BEHIND_SHARE_OF_SCOPE,
    DEFAULT_RISK_BEHIND_TASKS,
)

MODELS = {model.name: model for model in load_models()}


def ts(text: str) -> datetime:
    """A UTC timestamp from '2026-03-01 12:00' (or with seconds)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def d(text: str) -> date:
    return date.fromisoformat(text)


SPINE = "intermediate.int_dates"
# Inputs a test need not give: no task versions beyond the current rows, the default weights.
DEFAULT_INPUTS = {
    "staging.stg_buildos__task_history": (
        "account_id varchar, task_id varchar, project_id varchar, task_state varchar, "
        "completed_at timestamptz, facet_scale varchar, due_at timestamptz, "
        "updated_at timestamptz, deleted_at timestamptz, valid_from timestamptz, "
        "valid_to timestamptz",
        [],
    ),
    "staging.stg_buildos__risk_tolerance": (
        "behind_share_of_scope double, behind_tasks integer",
        [(DEFAULT_RISK_BEHIND_SHARE_OF_SCOPE, DEFAULT_RISK_BEHIND_TASKS)],
    ),
    "staging.stg_buildos__effort_weights": (
        "facet_scale varchar, effort_weight double",
        sorted(DEFAULT_EFFORT_WEIGHTS.items()),
    ),
}


@cache
def _calendar() -> pa.Table:
    """int_dates over 2020-2030, from its own SQL: the spine a unit test joins against."""
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    for schema in ("staging", "intermediate"):
        con.execute(f"create schema {schema}")
    con.execute(
        "create table staging.stg_buildos__projects as "
        "select timestamptz '2020-01-06 00:00:00+00' as created_at"
    )
    con.execute("create table staging.stg_buildos__braindumps (created_at timestamptz)")
    con.execute("create table staging.stg_buildos__briefs (brief_date date)")
    con.execute(
        "create table intermediate.int_account_as_of as select date '2030-10-01' as as_of_date"
    )
    return con.sql(MODELS["int_dates"].sql).to_arrow_table()


def _build_upstream(con, model, inputs: dict, name: str, seen: tuple = ()) -> None:
    """Models this one reads that were not given are built from the given rows, with their own
    SQL (so a mart's test can give staging rows and get the intermediates built)."""
    for schema, table in model.refs:
        relation = f"{schema}.{table}"
        if relation in inputs or table in seen:
            continue
        if relation == SPINE and name not in ("int_dates", "dim_dates"):
            con.execute("create schema if not exists intermediate")
            con.register("calendar_rows", _calendar())
            con.execute(f"create table if not exists {SPINE} as select * from calendar_rows")
            con.unregister("calendar_rows")
            continue
        if relation in DEFAULT_INPUTS:
            columns, rows = DEFAULT_INPUTS[relation]
            con.execute(f"create schema if not exists {schema}")
            con.execute(f"create table if not exists {relation} ({columns})")
            if rows and not con.execute(f"select count(*) from {relation}").fetchall()[0][0]:
                con.executemany(f"insert into {relation} values (?, ?)", rows)
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
        # a view, as the inputs are: a column that is null in every row keeps DuckDB's NULL
        # type through it (a table stores it as INTEGER on DuckDB 1.5)
        con.execute(f"create view {relation} as {upstream.sql}")


def run_model(
    name: str,
    inputs: dict[str, list[dict]],
    types: dict | None = None,
    order_by: str | None = None,
    cte: str | None = None,
) -> list[dict]:
    """The model's rows (or, with `cte`, the rows of that one step of its SQL, as sqlmesh tests
    a CTE: the rule that lives in it is asserted where it is written)."""
    model = MODELS[name]
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    for number, (relation, rows) in enumerate(inputs.items()):
        schema = relation.split(".")[0]
        con.execute(f"create schema if not exists {schema}")
        forced = (types or {}).get(relation, {})
        if rows:
            known = MODELS.get(relation.split(".")[1])
            if known is not None:  # columns the model documents but the test left out: null
                rows = [{**dict.fromkeys(known.columns), **row} for row in rows]
            arrow = pa.Table.from_pylist(rows)
            # registered for the connection's life, under a view: a column the rows leave null
            # keeps the NULL type, which casts to whatever the model compares it with, where a
            # table made from it would hold INTEGER (DuckDB 1.5) and fail coalesce(x, timestamp)
            con.register(f"input_rows_{number}", arrow)
            casts = ", ".join(
                f"cast({column} as {forced[column]}) as {column}" if column in forced else column
                for column in arrow.column_names
            )
            con.execute(f"create view {relation} as select {casts} from input_rows_{number}")
        else:
            columns = ", ".join(f"{c} {t}" for c, t in forced.items())
            con.execute(f"create table {relation} ({columns})")
    _build_upstream(con, model, inputs, name)
    sql = model.sql
    if cte is not None:
        ending = "select * from final"
        assert sql.endswith(ending) and f"\n{cte} as (" in sql, f"{name} has no CTE {cte}"
        sql = sql[: -len(ending)] + f"select * from {cte}"
    cursor = con.execute(
        f"select * from ({sql}) as model_rows" + (f" order by {order_by}" if order_by else "")
    )
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
