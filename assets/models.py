"""Models: one Dagster asset per dbt-style model, its .yml tests as asset checks, built per
account (a partition) in one step per run."""

from collections import Counter

import dagster as dg

from pipeline import account_build
from pipeline.models import LAYERS, Model, ModelTest, load_models
from pipeline.partitions import ACCOUNTS, backfill_policy, run_account_ids
from pipeline.preview import preview_markdown
from pipeline.resources import DuckDBWarehouse, ModelSettings, ProgressReporter

FINGERPRINTS_KEY = dg.AssetKey(["meta", "account_fingerprints"])
MODELS = load_models()


def _source_keys() -> list[dg.AssetKey]:
    """The landed tables the models read (the sync's assets)."""
    return sorted(
        {dg.AssetKey([s, t]) for m in MODELS for s, t in m.refs if s not in LAYERS}
        - {dg.AssetKey(["meta", "effort_weights"]), dg.AssetKey(["meta", "risk_tolerance"])},
        key=lambda key: key.to_user_string(),
    )


def _column_schema(model: Model) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, type=model.data_type(name) or "unknown", description=text or None)
            for name, text in model.columns.items()
        ]
    )


SETTINGS_SPECS = [
    dg.AssetSpec(
        ["meta", "effort_weights"],
        group_name="staging",
        kinds={"duckdb"},
        description="Effort weight per facet_scale (default micro 1, small 2, medium 3, "
        "large 5, epic 8), from the ModelSettings resource: weighted velocity and burndown "
        "read it.",
    ),
    dg.AssetSpec(
        ["meta", "risk_tolerance"],
        group_name="staging",
        kinds={"duckdb"},
        description="The at-risk rule's tolerance (default: behind the ideal by more than 10% "
        "of the scope and more than 2 tasks), from the ModelSettings resource: "
        "fct_project_risk reads it.",
    ),
    dg.AssetSpec(
        FINGERPRINTS_KEY,
        group_name="staging",
        kinds={"duckdb"},
        deps=_source_keys(),
        description="One fingerprint per account over every table the models read. A model "
        "is rebuilt only when its account's fingerprint (or its SQL) changed since it was "
        "built, so a refresh after a sync that changed nothing rebuilds nothing.",
    ),
]


def _model_spec(model: Model, freshness_policy: dg.FreshnessPolicy | None) -> dg.AssetSpec:
    deps = [dg.AssetKey([schema, table]) for schema, table in model.refs]
    if any(schema not in LAYERS for schema, _ in model.refs):
        deps.append(FINGERPRINTS_KEY)  # what a model reads of the sync, it versions by these
    return dg.AssetSpec(
        [model.schema, model.name],
        group_name=model.layer,
        kinds={"duckdb"},
        deps=deps,
        freshness_policy=freshness_policy,
        description=f"{model.description}\n\nGrain: {model.grain}.",
        metadata={
            "dagster/column_schema": _column_schema(model),
            "materialized_as": model.materialization,
            "sql_path": str(model.path.name),
        },
    )


def _check_spec(model: Model, test: ModelTest) -> dg.AssetCheckSpec:
    # A check that reads another model (a relationship's target) runs after it is built.
    others = [dg.AssetKey(list(ref)) for ref in test.refs if ref != (model.schema, model.name)]
    return dg.AssetCheckSpec(
        test.name,
        asset=dg.AssetKey([model.schema, model.name]),
        description=test.description,
        additional_deps=others or None,
    )


CHECK_SPECS = [_check_spec(model, test) for model in MODELS for test in model.tests]


def account_models_with(marts_freshness: dg.FreshnessPolicy | None = None):
    """Every model of the accounts of a run, and its .yml tests, as one step per run: each
    account's file is opened once and built model by model, each model checked right after
    it is built, on the same connection. A check that fails holds that account back from the
    shared layer (its previous release stays); the other accounts go on."""

    @dg.multi_asset(
        specs=SETTINGS_SPECS
        + [_model_spec(m, marts_freshness if m.layer == "marts" else None) for m in MODELS],
        check_specs=CHECK_SPECS,
        name="account_models",
        partitions_def=ACCOUNTS,
        backfill_policy=backfill_policy(),
        can_subset=True,
        op_tags={"dagster-celery/queue": "cpu"},
    )
    def account_models(
        context: dg.AssetExecutionContext,
        warehouse: DuckDBWarehouse,
        models: ModelSettings,
        progress: dg.ResourceParam[ProgressReporter],
    ):
        keys = context.selected_asset_keys
        checks = context.selected_asset_check_keys
        settings = account_build.Settings(
            dict(models.effort_weights),
            (models.risk_behind_share_of_scope, models.risk_behind_tasks),
        )
        account_ids = run_account_ids(context)
        builds: list[account_build.AccountBuild] = []
        previews: dict[str, str] = {}
        failed: dict[str, str] = {}
        for number, account_id in enumerate(account_ids):
            progress.update("models: accounts", number, len(account_ids))
            if not warehouse.account_path(account_id).exists():
                context.log.warning(f"account {account_id} has not been synced yet: no models")
                continue
            with warehouse.account(account_id) as con:
                models.configure(con)
                try:
                    built = account_build.build_account(
                        con,
                        account_id,
                        list(MODELS),
                        settings,
                        selected=lambda relation: dg.AssetKey(relation.split(".")) in keys,
                        checked=lambda model, test: (
                            dg.AssetCheckKey(dg.AssetKey(model.relation.split(".")), test) in checks
                        ),
                    )
                except Exception as error:  # one account's failure is not the batch's
                    account_build.record_build_error(con, error)
                    failed[account_id] = f"{type(error).__name__}: {error}"
                    context.log.error(f"account {account_id}: the models failed: {error}")
                    continue
                builds.append(built)
                if not previews:
                    previews = {
                        relation: preview_markdown(con, relation)
                        for relation, result in builds[-1].results.items()
                        if result.rows is not None
                    }
        progress.update("models: accounts", len(account_ids), len(account_ids))
        yield from _materializations(keys, builds, previews, models)
        yield from _check_results(checks, builds)
        if failed and not builds:
            raise RuntimeError(
                "the models failed for every account of the run: "
                + "; ".join(f"{a}: {e}" for a, e in failed.items())
            )

    return account_models


def _materializations(keys, builds, previews, models: ModelSettings):
    for spec in SETTINGS_SPECS:
        if spec.key not in keys:
            continue
        metadata = {"accounts": len(builds)}
        if spec.key.path[-1] == "effort_weights":
            metadata |= {
                "row_count": len(models.effort_weights),
                "weights": dict(models.effort_weights),
            }
        elif spec.key.path[-1] == "risk_tolerance":
            metadata |= {
                "row_count": 1,
                "behind_share_of_scope": models.risk_behind_share_of_scope,
                "behind_tasks": models.risk_behind_tasks,
            }
        else:
            metadata["row_count"] = len(builds)
        yield dg.MaterializeResult(asset_key=spec.key, metadata=metadata)
    for model in MODELS:
        key = dg.AssetKey([model.schema, model.name])
        if key not in keys:
            continue
        results = [b.results[model.relation] for b in builds if model.relation in b.results]
        modes = Counter(r.mode for r in results)
        metadata = {
            "build": ", ".join(f"{mode}: {n}" for mode, n in sorted(modes.items())),
            "accounts_rebuilt": sum(r.accounts_rebuilt for r in results),
            "accounts_removed": sum(r.accounts_removed for r in results),
        }
        if results and all(r.rows is not None for r in results):  # a view is not counted
            metadata["row_count"] = sum(r.rows for r in results)
            if model.relation in previews:
                metadata["preview"] = dg.MetadataValue.md(previews[model.relation])
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


def _check_results(checks, builds):
    for spec in CHECK_SPECS:
        if spec.key not in checks:
            continue
        relation = ".".join(spec.asset_key.path)
        outcomes = [
            (b.account_id, c)
            for b in builds
            for c in b.checks
            if c.model == relation and c.test == spec.name
        ]
        failing = [(account_id, c) for account_id, c in outcomes if c.failing]
        yield dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=not failing,
            metadata={
                "failing_rows": sum(c.failing for _, c in failing),
                "accounts_failing": dg.MetadataValue.text(
                    ", ".join(a for a, _ in failing) or "none"
                ),
                "accounts_rechecked": sum(c.ran for _, c in outcomes),
                "sample": dg.MetadataValue.text(failing[0][1].sample if failing else ""),
            },
        )
