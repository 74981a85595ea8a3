"""The one Dagster Definitions: every asset group, resource, job, schedule and sensor.

Read top to bottom; `workspace.yaml` points `dagster dev` here, and the CLI and the tests run
these same assets.
"""

import dagster as dg

from assets import buildos as buildos_assets
from assets import models as model_assets
from assets import publish as publish_assets
from pipeline.resources import (
    ModelSettings,
    ProgressReporter,
    buildos_from_env,
    publish_from_env,
    warehouse_from_env,
)

# Ingest (group buildos): one multi-asset writing raw, current, history and meta tables.
ingest_assets = [buildos_assets.buildos_sync]

# Models (groups staging, intermediate, marts): one asset per dbt-style model, its .yml tests
# as blocking asset checks; effort weights come from the ModelSettings resource.
modeling_assets = [model_assets.effort_weights, *model_assets.model_assets]
modeling_checks = model_assets.model_checks

# Publish (group publish): bi views, a Parquet release whose blocking checks guard the swaps
# BI tools read (exports/current, exports/analytics.duckdb, PostgreSQL).
publishing_assets = publish_assets.publish_assets
publishing_checks = publish_assets.publish_checks

resources = {
    "buildos": buildos_from_env(),
    "warehouse": warehouse_from_env(),
    "models": ModelSettings(),
    "publish": publish_from_env(),
    "progress": dg.ResourceDefinition.hardcoded_resource(ProgressReporter()),
}

defs = dg.Definitions(
    assets=[*ingest_assets, *modeling_assets, *publishing_assets],
    asset_checks=[*modeling_checks, *publishing_checks],
    resources=resources,
    # One DuckDB file admits one writing process: steps run in the run's own process, one at a
    # time (the duckdb_writer pool also keeps separate runs from writing at once).
    executor=dg.in_process_executor,
)
