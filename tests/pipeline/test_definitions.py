"""The Definitions' jobs, schedules, sensors and freshness policies, evaluated with Dagster's
own test utilities."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

import pipeline.definitions as definitions
from pipeline import delivery
from pipeline.resources import DeliverySettings
from tests.pipeline.receivers import HttpReceiver


def test_the_definitions_load_with_every_group():
    dg.Definitions.validate_loadable(definitions.defs)
    graph = definitions.defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"buildos", "staging", "intermediate", "marts", "publish", "dashboards"}


def _run_requests(schedule, when: datetime):
    context = dg.build_schedule_context(scheduled_execution_time=when)
    return schedule.evaluate_tick(context).run_requests


def test_hourly_refresh_runs_the_refresh_job_every_hour():
    schedule = definitions.hourly_refresh
    assert schedule.cron_schedule == "0 * * * *"
    [request] = _run_requests(schedule, datetime(2026, 3, 2, 10, tzinfo=UTC))
    assert schedule.job_name == "refresh"
    assert request.run_config == {}
    job = definitions.defs.resolve_job_def("refresh")
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert "buildos/projects" in keys and "marts/fct_velocity_weekly" in keys
    assert "exports/current" in keys and "alerts/projects_at_risk" in keys
    assert "dashboards/executive" not in keys


def test_daily_reconciliation_asks_for_a_full_sync():
    assert definitions.daily_full_reconciliation.cron_schedule == "30 3 * * *"
    assert definitions.full_reconciliation_job.config == {
        "ops": {"buildos_sync": {"config": {"full": True}}}
    }


def test_the_weekly_dashboard_runs_on_monday_at_seven_in_the_configured_timezone(monkeypatch):
    monkeypatch.setenv("BUILDOS_DASHBOARD_TIMEZONE", "America/New_York")
    module = importlib.reload(definitions)
    try:
        schedule = module.weekly_executive_dashboard
        assert schedule.cron_schedule == "0 7 * * 1"
        assert schedule.execution_timezone == "America/New_York"
        assert schedule.job_name == "executive_dashboard"
        context = dg.build_schedule_context(
            scheduled_execution_time=datetime(2026, 3, 2, 12, tzinfo=UTC)
        )
        assert len(schedule.evaluate_tick(context).run_requests) == 1
    finally:
        monkeypatch.delenv("BUILDOS_DASHBOARD_TIMEZONE")
        importlib.reload(definitions)


def test_every_mart_carries_a_freshness_policy_and_other_layers_do_not():
    graph = definitions.defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        policy = node.freshness_policy
        if node.group_name == "marts":
            assert policy is not None, key
            assert policy.fail_window.to_timedelta() == timedelta(hours=3)
        elif node.group_name in ("staging", "intermediate"):
            assert policy is None, key


@pytest.fixture
def receiver():
    endpoint = HttpReceiver()
    yield endpoint
    endpoint.close()


def test_a_finished_run_sends_a_signed_event(receiver):
    secret = "sensor-secret"
    deliver = DeliverySettings(
        events_webhook_url=receiver.url, events_webhook_secret=secret, retry_backoff_seconds=0.01
    )
    with dg.instance_for_test() as instance:
        result = dg.materialize([_noop_asset], instance=instance)
        run = instance.get_run_by_id(result.run_id)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_succeeded_event",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=result.get_run_success_event(),
            resources={"deliver": deliver},
        )
        definitions.run_succeeded_event(context)
    [request] = receiver.requests
    headers = {k.lower(): v for k, v in request.headers.items()}
    assert headers["x-buildos-analytics-event"] == "run.finished"
    assert delivery.verify_signature(
        secret,
        request.body,
        headers["x-buildos-analytics-timestamp"],
        headers["x-buildos-analytics-signature"],
    )
    assert b'"status":"succeeded"' in request.body


def test_without_a_webhook_the_sensor_skips():
    with dg.instance_for_test() as instance:
        result = dg.materialize([_noop_asset], instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_succeeded_event",
            dagster_instance=instance,
            dagster_run=instance.get_run_by_id(result.run_id),
            dagster_event=result.get_run_success_event(),
            resources={"deliver": DeliverySettings()},
        )
        outcome = definitions.run_succeeded_event(context)
    assert isinstance(outcome, dg.SkipReason)


@dg.asset
def _noop_asset() -> None:
    return None
