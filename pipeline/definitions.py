"""The one Dagster Definitions: every asset group, resource, job, schedule and sensor.

Read top to bottom; `workspace.yaml` points `dagster dev` here.
"""

import dagster as dg

import assets

defs = dg.Definitions(
    assets=dg.load_assets_from_package_module(assets),
)
