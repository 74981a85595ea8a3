"""dbt-style models: every .sql under dbt_style_models/ is a SELECT that becomes a DuckDB view or
table in the schema of its layer, with the .yml beside it giving its grain, column docs and
tests. Dependencies are read from the SQL's own table references, never from a list by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import yaml

from pipeline.paths import MODELS_DIR

# How each layer materializes: the one place this is set.
MATERIALIZATION = {"staging": "view", "intermediate": "table", "marts": "table"}
LAYERS = tuple(MATERIALIZATION)


@dataclass(frozen=True)
class ModelTest:
    """One data test from the .yml: the SQL selects the failing rows."""

    name: str
    kind: str
    column: str | None
    failing_rows_sql: str
    description: str

    @property
    def refs(self) -> tuple[tuple[str, str], ...]:
        """The relations the test reads (its own model among them)."""
        return table_refs(self.failing_rows_sql)


@dataclass(frozen=True)
class Model:
    name: str
    layer: str
    path: Path
    sql: str
    description: str
    grain: str
    columns: dict[str, str]  # name -> description
    refs: tuple[tuple[str, str], ...]  # (schema, table) the SQL reads
    tests: tuple[ModelTest, ...] = field(default=())
    free_text: tuple[str, ...] = ()  # columns marked `free_text: true`: kept out of exports
    materialized: str | None = None  # the .yml's `materialized:`, else the layer's default
    # `fingerprint:` an aggregate over the model's source rows, per account, that changes when
    # the source has changed for the account (default: every row's payload_hash and removal)
    fingerprint: str | None = None
    # `calendar: true`: each row is a function of its key alone, so what reads it depends on
    # its SQL, not on how far it reaches (the day spine)
    is_calendar: bool = False
    data_types: dict[str, str] = field(default_factory=dict)  # name -> the .yml's `data_type`

    @property
    def schema(self) -> str:
        return self.layer

    @property
    def relation(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def is_per_account(self) -> bool:
        """Rows carry account_id (every model but the calendar and the effort weights)."""
        return "account_id" in self.columns

    @property
    def materialization(self) -> str:
        return self.materialized or MATERIALIZATION[self.layer]

    def data_type(self, column: str) -> str | None:
        """The column's DuckDB type as the .yml declares it (`data_type`), if it does."""
        return self.data_types.get(column)


def table_refs(sql: str) -> tuple[tuple[str, str], ...]:
    """The schema-qualified tables a SELECT reads (CTE names and table functions excluded)."""
    refs = set()
    for name in duckdb.get_table_names(sql, qualified=True):
        relation = name.split(" AS ")[0].strip()
        parts = [part.strip('"') for part in relation.split(".")]
        if len(parts) >= 2:
            refs.add((parts[-2], parts[-1]))
    return tuple(sorted(refs))


def _tests_for(model_name: str, relation: str, spec: dict) -> list[ModelTest]:
    tests = []
    for column in spec.get("columns") or []:
        name = column["name"]
        for test in column.get("tests") or []:
            tests.append(_column_test(relation, name, test))
    for test in spec.get("tests") or []:
        tests.append(_model_test(relation, test))
    names = [t.name for t in tests]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{model_name}.yml: tests with the same name: {sorted(duplicates)}")
    return tests


def _quote(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _column_test(relation: str, column: str, test) -> ModelTest:
    if isinstance(test, str):
        kind, args = test, {}
    else:
        ((kind, args),) = test.items()
    if kind == "not_null":
        sql = f"select * from {relation} where {column} is null"
        text = f"{column} is never null"
    elif kind == "unique":
        sql = (
            f"select {column}, count(*) as n from {relation} where {column} is not null "
            f"group by {column} having count(*) > 1"
        )
        text = f"{column} is unique"
    elif kind == "accepted_values":
        values = ", ".join(_quote(v) for v in args["values"])
        sql = f"select * from {relation} where {column} is not null and {column} not in ({values})"
        text = f"{column} is one of {args['values']}"
    elif kind == "relationships":
        # within the row's own account: a row pointing at another account's entity fails
        to, to_field = args["to"], args["field"]
        sql = (
            f"select c.* from {relation} as c where c.{column} is not null and not exists "
            f"(select 1 from {to} as p where p.account_id = c.account_id "
            f"and p.{to_field} = c.{column})"
        )
        text = f"every {column} is a {to}.{to_field} of the same account"
    elif kind == "expression":
        sql = f"select * from {relation} where not coalesce(({args['expression']}), false)"
        text = args.get("description", args["expression"])
    else:
        raise ValueError(f"{relation}: unknown test {kind!r} on {column}")
    return ModelTest(
        f"{column}__{kind}" + (f"__{args['name']}" if "name" in args else ""),
        kind,
        column,
        sql,
        text,
    )


def _model_test(relation: str, test: dict) -> ModelTest:
    ((kind, args),) = test.items()
    if kind == "unique_combination":
        columns = ", ".join(args["columns"])
        sql = (
            f"select {columns}, count(*) as n from {relation} group by {columns} "
            "having count(*) > 1"
        )
        return ModelTest(
            f"unique__{'__'.join(args['columns'])}", kind, None, sql, f"one row per {columns}"
        )
    if kind == "expression":
        sql = f"select * from {relation} where not coalesce(({args['expression']}), false)"
        return ModelTest(args["name"], kind, None, sql, args.get("description", args["expression"]))
    raise ValueError(f"{relation}: unknown model test {kind!r}")


def load_model(path: Path) -> Model:
    layer = path.relative_to(MODELS_DIR).parts[0]
    if layer not in MATERIALIZATION:
        raise ValueError(f"{path}: models live under one of {LAYERS}")
    sql = path.read_text().strip().rstrip(";")
    spec_path = path.with_suffix(".yml")
    if not spec_path.exists():
        raise ValueError(f"{path}: every model needs a .yml beside it ({spec_path.name})")
    spec = yaml.safe_load(spec_path.read_text()) or {}
    name = path.stem
    if spec.get("name", name) != name:
        raise ValueError(f"{spec_path}: name {spec.get('name')!r} is not {name!r}")
    if not spec.get("grain"):
        raise ValueError(f"{spec_path}: state the model's grain")
    relation = f"{layer}.{name}"
    return Model(
        name=name,
        layer=layer,
        path=path,
        sql=sql,
        description=str(spec.get("description", "")).strip(),
        grain=str(spec["grain"]).strip(),
        columns={
            c["name"]: str(c.get("description", "")).strip() for c in spec.get("columns") or []
        },
        refs=table_refs(sql),
        tests=tuple(_tests_for(name, relation, spec)),
        free_text=tuple(c["name"] for c in spec.get("columns") or [] if c.get("free_text")),
        materialized=_materialized(spec_path, spec),
        fingerprint=spec.get("fingerprint"),
        is_calendar=bool(spec.get("calendar", False)),
        data_types={
            c["name"]: c["data_type"] for c in spec.get("columns") or [] if "data_type" in c
        },
    )


def _materialized(spec_path: Path, spec: dict) -> str | None:
    value = spec.get("materialized")
    if value not in (None, "view", "table"):
        raise ValueError(f"{spec_path}: materialized is view or table, not {value!r}")
    return value


@cache
def load_models(root: Path = MODELS_DIR) -> tuple[Model, ...]:
    """Every model, in an order where each comes after what it reads."""
    models = {m.name: m for m in (load_model(p) for p in sorted(root.rglob("*.sql")))}
    ordered: list[Model] = []
    placed: set[str] = set()

    def place(model: Model, trail: tuple[str, ...]) -> None:
        if model.name in placed:
            return
        if model.name in trail:
            raise ValueError(f"models read each other in a cycle: {' -> '.join(trail)}")
        for schema, table in model.refs:
            if schema in LAYERS:
                if table not in models:
                    raise ValueError(f"{model.path.name} reads {schema}.{table}, which is no model")
                place(models[table], (*trail, model.name))
        placed.add(model.name)
        ordered.append(model)

    for model in models.values():
        place(model, ())
    return tuple(ordered)


def build_model(con: duckdb.DuckDBPyConnection, model: Model) -> int | None:
    """Create or replace the model's view or table; returns a table's row count (None for a
    view: counting would run it)."""
    con.execute(f"create schema if not exists {model.schema}")
    kind = "view" if model.materialization == "view" else "table"
    con.execute(f"create or replace {kind} {model.relation} as\n{model.sql}")
    if kind == "view":
        return None
    return con.execute(f"select count(*) from {model.relation}").fetchall()[0][0]


def _holds(con: duckdb.DuckDBPyConnection, select: str, rows: list[tuple]) -> bool:
    """Whether a settings table holds exactly `rows` already: rewriting it would cost a
    catalog change (a commit to the file) on every refresh."""
    try:
        return con.execute(select).fetchall() == rows
    except duckdb.CatalogException:
        return False


def write_effort_weights(con: duckdb.DuckDBPyConnection, weights: dict[str, float]) -> None:
    """The effort weight per facet_scale, as a table the staging layer reads."""
    rows = [(scale, float(weight)) for scale, weight in sorted(weights.items())]
    if _holds(con, "select facet_scale, weight from meta.effort_weights order by 1", rows):
        return
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.effort_weights "
        "(facet_scale varchar primary key, weight double not null)"
    )
    con.executemany("insert into meta.effort_weights values (?, ?)", rows)


def write_risk_tolerance(
    con: duckdb.DuckDBPyConnection, behind_share_of_scope: float, behind_tasks: int
) -> None:
    """The at-risk rule's tolerance (ModelSettings), as a one-row table the staging layer
    reads."""
    row = (float(behind_share_of_scope), int(behind_tasks))
    if _holds(con, "select behind_share_of_scope, behind_tasks from meta.risk_tolerance", [row]):
        return
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.risk_tolerance "
        "(behind_share_of_scope double not null, behind_tasks integer not null)"
    )
    con.execute("insert into meta.risk_tolerance values (?, ?)", list(row))


def build_all(con: duckdb.DuckDBPyConnection, weights: dict[str, float]) -> dict[str, int | None]:
    """Every model in dependency order, each rebuilt for the accounts whose inputs changed
    (pipeline.model_build); row counts by relation (None for a view)."""
    from pipeline.model_schedule import build_all as build_changed  # it builds on this module

    return {relation: result.rows for relation, result in build_changed(con, weights).items()}


def run_test(con: duckdb.DuckDBPyConnection, test: ModelTest) -> tuple[int, list[tuple]]:
    """(failing row count, up to five failing rows)."""
    count = con.execute(f"select count(*) from ({test.failing_rows_sql})").fetchall()[0][0]
    sample = con.execute(f"{test.failing_rows_sql} limit 5").fetchall() if count else []
    return count, sample
