"""The one Dagster Definitions: every asset group, resource, job, schedule and sensor.

Read top to bottom; `workspace.yaml` points `dagster dev` here, and the CLI and the tests run
these same assets.
"""

import os
from datetime import timedelta

import dagster as dg

from assets import buildos as buildos_assets
from assets import dashboards as dashboard_assets
from assets import models as model_assets
from assets import publish as publish_assets
from pipeline import delivery
from pipeline.resources import (
    DeliverySettings,
    ProgressReporter,
    buildos_from_env,
    delivery_from_env,
    models_from_env,
    publish_from_env,
    warehouse_from_env,
)

# Ingest (group buildos): one multi-asset writing raw, current, history and meta tables.
ingest_assets = [buildos_assets.buildos_sync]

# Models (groups staging, intermediate, marts): one asset per dbt-style model, its .yml tests
# as blocking asset checks; effort weights and the memory limit come from the ModelSettings
# resource; account fingerprints let each model rebuild only the accounts that changed. Marts
# carry a freshness policy: with the hourly schedule, a mart older than 3 hours is stale.
MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)
)
modeling_assets = [
    model_assets.effort_weights,
    model_assets.risk_tolerance,
    model_assets.account_fingerprints,
    *model_assets.model_assets_with(marts_freshness=MART_FRESHNESS),
]
modeling_checks = model_assets.model_checks

# Publish (group publish): bi views, a Parquet release whose blocking checks guard the swaps
# BI tools read (exports/current, exports/analytics.duckdb, PostgreSQL).
publishing_assets = publish_assets.publish_assets
publishing_checks = publish_assets.publish_checks

# Dashboards (group dashboards): the executive dashboard and the at-risk events.
dashboarding_assets = dashboard_assets.dashboard_assets

resources = {
    "buildos": buildos_from_env(),
    "warehouse": warehouse_from_env(),
    "models": models_from_env(),
    "publish": publish_from_env(),
    "deliver": delivery_from_env(),
    "progress": dg.ResourceDefinition.hardcoded_resource(ProgressReporter()),
}

# Jobs: what runs together.
REFRESH = dg.AssetSelection.groups(
    "buildos", "staging", "intermediate", "marts", "publish"
) | dg.AssetSelection.assets(dg.AssetKey(["alerts", "projects_at_risk"]))
refresh_job = dg.define_asset_job(
    "refresh",
    selection=REFRESH,
    description="Incremental sync, every model and its checks, the exports, at-risk events.",
)
full_reconciliation_job = dg.define_asset_job(
    "full_reconciliation",
    selection=REFRESH,
    config={"ops": {"buildos_sync": {"config": {"full": True}}}},
    description="The same with a full reconciliation: every project refetched, so changes the "
    "app logged nowhere are found.",
)
dashboard_job = dg.define_asset_job(
    "executive_dashboard",
    selection=dg.AssetSelection.groups("dashboards"),
    description="The executive dashboard and its delivery.",
)

# Schedules. The dashboard's timezone is configuration (BUILDOS_DASHBOARD_TIMEZONE).
DASHBOARD_TIMEZONE = os.environ.get("BUILDOS_DASHBOARD_TIMEZONE", "UTC")
hourly_refresh = dg.ScheduleDefinition(
    name="hourly_refresh", job=refresh_job, cron_schedule="0 * * * *"
)
daily_full_reconciliation = dg.ScheduleDefinition(
    name="daily_full_reconciliation", job=full_reconciliation_job, cron_schedule="30 3 * * *"
)
weekly_executive_dashboard = dg.ScheduleDefinition(
    name="weekly_executive_dashboard",
    job=dashboard_job,
    cron_schedule="0 7 * * 1",
    execution_timezone=DASHBOARD_TIMEZONE,
)


# Sensors: a signed `run.finished` event after every run of these jobs, when configured.
@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_succeeded_event",
    monitored_jobs=[refresh_job, full_reconciliation_job, dashboard_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_succeeded_event(context: dg.RunStatusSensorContext, deliver: DeliverySettings):
    return send_run_event(context, deliver, "succeeded")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    name="run_failed_event",
    monitored_jobs=[refresh_job, full_reconciliation_job, dashboard_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_failed_event(context: dg.RunStatusSensorContext, deliver: DeliverySettings):
    return send_run_event(context, deliver, "failed")


def send_run_event(context, deliver: DeliverySettings, status: str):
    if not (deliver.events_webhook_url and deliver.events_webhook_secret):
        return dg.SkipReason("no events webhook configured")
    run = context.dagster_run
    delivery.send_event(
        deliver.events_webhook_url,
        deliver.events_webhook_secret,
        "run.finished",
        {"run_id": run.run_id, "job": run.job_name, "status": status},
        delivery.RetryPolicy(
            attempts=deliver.retry_attempts, backoff_base=deliver.retry_backoff_seconds
        ),
    )
    return None


defs = dg.Definitions(
    assets=[*ingest_assets, *modeling_assets, *publishing_assets, *dashboarding_assets],
    asset_checks=[*modeling_checks, *publishing_checks],
    jobs=[refresh_job, full_reconciliation_job, dashboard_job],
    schedules=[hourly_refresh, daily_full_reconciliation, weekly_executive_dashboard],
    sensors=[run_succeeded_event, run_failed_event],
    resources=resources,
    # One DuckDB file admits one writing process: steps run in the run's own process, one at a
    # time (the duckdb_writer pool also keeps separate runs from writing at once).
    executor=dg.in_process_executor,
)
