"""The one Dagster Definitions: every asset group, resource, job, schedule and sensor.

Read top to bottom; `workspace.yaml` points `dagster dev` here, and the CLI and the tests run
these same assets.
"""

import os
from datetime import timedelta

import dagster as dg

from assets import accounts as account_assets
from assets import buildos as buildos_assets
from assets import dashboards as dashboard_assets
from assets import models as model_assets
from assets import publish as publish_assets
from pipeline import automation, delivery, executors
from pipeline.automation import SHARED_WRITER_TAG
from pipeline.resources import (
    BuildOSResource,
    DeliverySettings,
    ProgressReporter,
    buildos_from_env,
    delivery_from_env,
    models_from_env,
    publish_from_env,
    warehouse_from_env,
)

# Per account (partitions of `accounts`, key: the account id), each account in a DuckDB file
# of its own; a run takes a batch of accounts (BUILDOS_ACCOUNTS_PER_RUN) through three steps:
# the sync (group buildos: raw, current, history and meta tables), the models with their .yml
# tests as checks (groups staging, intermediate, marts: one asset per model, built only for
# what changed), and the account's release (its checked marts as Parquet). Marts carry a
# freshness policy: with the hourly schedule, a mart older than 3 hours is stale.
MART_FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(hours=2)
)
ingest_assets = [buildos_assets.buildos_sync]
modeling_assets = [model_assets.account_models_with(marts_freshness=MART_FRESHNESS)]
release_assets = [account_assets.account_release]

# Shared (one writer): every account's current release gathered into the shared file; then
# publish (group publish): bi views, a Parquet release whose blocking checks guard the swaps
# BI tools read (exports/current, exports/analytics.duckdb, PostgreSQL); dashboards (group
# dashboards): the executive dashboard and the at-risk events.
shared_assets = [account_assets.shared_marts]
publishing_assets = publish_assets.publish_assets
publishing_checks = publish_assets.publish_checks
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
ACCOUNT_GROUPS = ("buildos", "staging", "intermediate", "marts", "accounts")
ACCOUNT_STEPS = dg.AssetSelection.groups(*ACCOUNT_GROUPS)
PUBLISH_STEPS = dg.AssetSelection.groups("shared", "publish") | dg.AssetSelection.assets(
    dg.AssetKey(["alerts", "projects_at_risk"])
)
accounts_job = dg.define_asset_job(
    "accounts_refresh",
    selection=ACCOUNT_STEPS,
    description="A batch of accounts: incremental sync (each account reconciled in full once "
    "a day, in its own hour), the models and their checks, the account's release.",
)
full_reconciliation_job = dg.define_asset_job(
    "full_reconciliation",
    selection=ACCOUNT_STEPS,
    config={"ops": {"buildos_sync": {"config": {"full": True}}}},
    description="The same with a full reconciliation of every account of the run: every "
    "project refetched, so changes the app logged nowhere are found.",
)
publish_job = dg.define_asset_job(
    "publish",
    selection=PUBLISH_STEPS,
    tags={SHARED_WRITER_TAG: "shared"},
    description="The fan-in of every account's current release, the exports, at-risk events.",
)
dashboard_job = dg.define_asset_job(
    "executive_dashboard",
    selection=dg.AssetSelection.groups("dashboards"),
    description="The executive dashboard and its delivery.",
)
JOBS = [accounts_job, full_reconciliation_job, publish_job, dashboard_job]

# Schedules. The hourly refresh asks for every account, a run per batch; the publish sensor
# gathers them once no account run is left. The dashboard's timezone is configuration
# (BUILDOS_DASHBOARD_TIMEZONE).
DASHBOARD_TIMEZONE = os.environ.get("BUILDOS_DASHBOARD_TIMEZONE", "UTC")


@dg.schedule(name="hourly_refresh", job=accounts_job, cron_schedule="0 * * * *")
def hourly_refresh(context: dg.ScheduleEvaluationContext):
    return automation.account_batches(context, context.scheduled_execution_time)


weekly_executive_dashboard = dg.ScheduleDefinition(
    name="weekly_executive_dashboard",
    job=dashboard_job,
    cron_schedule="0 7 * * 1",
    execution_timezone=DASHBOARD_TIMEZONE,
)


@dg.sensor(
    name="account_registry",
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def account_registry(context: dg.SensorEvaluationContext, buildos: BuildOSResource):
    """Adds a partition for each account the registry gained, removes those it lost (none
    while an entry's login fails: it may be one of them)."""
    resolved = buildos.resolve()
    for entry in resolved.unresolved:
        context.log.warning(f"left out: {entry}")
    return automation.registry_changes(context, resolved.ids, remove=not resolved.unresolved)


@dg.sensor(name="publish_after_accounts", job=publish_job, minimum_interval_seconds=60)
def publish_after_accounts(context: dg.SensorEvaluationContext):
    """Publishes once accounts were released and no account run is queued or running."""
    return automation.publish_when_settled(context, accounts_job.name)


# Sensors: a signed `run.finished` event after every run of these jobs, when configured.
@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_succeeded_event",
    monitored_jobs=JOBS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_succeeded_event(context: dg.RunStatusSensorContext, deliver: DeliverySettings):
    return send_run_event(context, deliver, "succeeded")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.FAILURE,
    name="run_failed_event",
    monitored_jobs=JOBS,
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
    assets=[
        *ingest_assets,
        *modeling_assets,
        *release_assets,
        *shared_assets,
        *publishing_assets,
        *dashboarding_assets,
    ],
    asset_checks=publishing_checks,
    jobs=JOBS,
    schedules=[hourly_refresh, weekly_executive_dashboard],
    sensors=[account_registry, publish_after_accounts, run_succeeded_event, run_failed_event],
    resources=resources,
    # In process by default: one account's steps follow one another in the run's process.
    # BUILDOS_EXECUTOR=celery sends each step to the Celery workers (deploy/, docs/scaleout.md).
    executor=executors.from_env(),
)
