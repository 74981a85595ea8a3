"""The one Dagster Definitions: every asset group, resource, job, schedule and sensor.

Read top to bottom; `workspace.yaml` points `dagster dev` here, and the CLI and the tests run
these same assets.
"""

import dagster as dg

from assets import buildos as buildos_assets
from pipeline.resources import ProgressReporter, buildos_from_env, warehouse_from_env

ingest_assets = [buildos_assets.buildos_sync]

resources = {
    "buildos": buildos_from_env(),
    "warehouse": warehouse_from_env(),
    "progress": dg.ResourceDefinition.hardcoded_resource(ProgressReporter()),
}

defs = dg.Definitions(
    assets=[*ingest_assets],
    resources=resources,
)
