"""Models: one Dagster asset per dbt-style model, its .yml tests as asset checks."""

from __future__ import annotations

import dagster as dg

from pipeline import model_build
from pipeline.models import (
    LAYERS,
    Model,
    ModelTest,
    load_models,
    run_test,
    write_effort_weights,
    write_risk_tolerance,
)
from pipeline.preview import preview_markdown
from pipeline.resources import DuckDBWarehouse, ModelSettings


@dg.asset(
    key=["meta", "effort_weights"],
    group_name="staging",
    kinds={"duckdb"},
    pool="duckdb_writer",
)
def effort_weights(warehouse: DuckDBWarehouse, models: ModelSettings) -> dg.MaterializeResult:
    """Effort weight per facet_scale (default micro 1, small 2, medium 3, large 5, epic 8),
    from the ModelSettings resource: weighted velocity and burndown read it."""
    con = warehouse.connect()
    try:
        write_effort_weights(con, models.effort_weights)
    finally:
        con.close()
    return dg.MaterializeResult(
        metadata={"row_count": len(models.effort_weights), "weights": dict(models.effort_weights)}
    )


@dg.asset(
    key=["meta", "risk_tolerance"],
    group_name="staging",
    kinds={"duckdb"},
    pool="duckdb_writer",
)
def risk_tolerance(warehouse: DuckDBWarehouse, models: ModelSettings) -> dg.MaterializeResult:
    """The at-risk rule's tolerance (default: behind the ideal by more than 10% of the scope
    and more than 2 tasks), from the ModelSettings resource: fct_project_risk reads it."""
    con = warehouse.connect()
    try:
        write_risk_tolerance(con, models.risk_behind_share_of_scope, models.risk_behind_tasks)
    finally:
        con.close()
    return dg.MaterializeResult(
        metadata={
            "row_count": 1,
            "behind_share_of_scope": models.risk_behind_share_of_scope,
            "behind_tasks": models.risk_behind_tasks,
        }
    )


FINGERPRINTS_KEY = dg.AssetKey(["meta", "account_fingerprints"])


def _source_keys() -> list[dg.AssetKey]:
    """The landed tables the models read (the sync's assets, and the effort weights)."""
    return sorted(
        {dg.AssetKey([s, t]) for m in load_models() for s, t in m.refs if s not in LAYERS},
        key=lambda key: key.to_user_string(),
    )


@dg.asset(
    key=FINGERPRINTS_KEY,
    group_name="staging",
    kinds={"duckdb"},
    deps=_source_keys(),
    pool="duckdb_writer",
)
def account_fingerprints(warehouse: DuckDBWarehouse) -> dg.MaterializeResult:
    """One fingerprint per account over every table the models read. A model is rebuilt only
    for the accounts whose fingerprint (or SQL) changed since it was built, so a refresh after
    a sync that changed nothing rebuilds nothing."""
    con = warehouse.connect()
    try:
        fingerprints = model_build.account_fingerprints(con)
        model_build.write_account_fingerprints(con, fingerprints)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"row_count": len(fingerprints)})


def _column_schema(model: Model) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type=model.data_type(name) or "unknown", description=text or None)
            for name, text in model.columns.items()
        ]
    )


def _model_asset(
    model: Model, freshness_policy: dg.FreshnessPolicy | None = None
) -> dg.AssetsDefinition:
    deps = [dg.AssetKey([schema, table]) for schema, table in model.refs]
    if any(schema not in LAYERS for schema, _ in model.refs):
        deps.append(FINGERPRINTS_KEY)  # what a model reads of the sync, it versions by these

    @dg.asset(
        key=[model.schema, model.name],
        group_name=model.layer,
        kinds={"duckdb"},
        deps=deps,
        pool="duckdb_writer",
        freshness_policy=freshness_policy,
        description=f"{model.description}\n\nGrain: {model.grain}.",
        metadata={
            "dagster/column_schema": _column_schema(model),
            "materialized_as": model.materialization,
            "sql_path": str(model.path.name),
        },
    )
    def _asset(warehouse: DuckDBWarehouse, models: ModelSettings) -> dg.MaterializeResult:
        con = warehouse.connect()
        try:
            models.configure(con)
            result = model_build.build(con, model)
            preview = preview_markdown(con, model.relation) if result.rows is not None else None
        finally:
            con.close()
        metadata = {
            "build": result.mode,
            "accounts_rebuilt": result.accounts_rebuilt,
            "accounts_removed": result.accounts_removed,
        }
        if result.rows is not None:  # a view is not counted: counting would run it
            metadata |= {"row_count": result.rows, "preview": dg.MetadataValue.md(preview)}
        return dg.MaterializeResult(metadata=metadata)

    return _asset


def _model_check(model: Model, test: ModelTest) -> dg.AssetChecksDefinition:
    # A check that reads another model (a relationship's target) runs after it is built.
    others = [dg.AssetKey(list(ref)) for ref in test.refs if ref != (model.schema, model.name)]

    @dg.asset_check(
        asset=dg.AssetKey([model.schema, model.name]),
        name=test.name,
        description=test.description,
        blocking=True,
        additional_deps=others or None,
    )
    def _check(warehouse: DuckDBWarehouse) -> dg.AssetCheckResult:
        con = warehouse.connect(read_only=True)
        try:
            failing, sample = run_test(con, test)
        finally:
            con.close()
        return dg.AssetCheckResult(
            passed=failing == 0,
            metadata={
                "failing_rows": failing,
                "sample": dg.MetadataValue.text(repr(sample)[:2000]),
            },
        )

    return _check


MODELS = load_models()


def model_assets_with(marts_freshness: dg.FreshnessPolicy | None = None) -> list:
    """One asset per model; marts get the freshness policy."""
    return [_model_asset(m, marts_freshness if m.layer == "marts" else None) for m in MODELS]


model_checks = [_model_check(model, test) for model in MODELS for test in model.tests]
