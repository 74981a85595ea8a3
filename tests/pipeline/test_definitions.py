"""The Definitions' jobs, schedules, sensors and freshness policies, evaluated with Dagster's
own test utilities."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

import pipeline.definitions as definitions
from pipeline import automation, delivery
from pipeline.resources import DeliverySettings
from tests.pipeline.receivers import HttpReceiver


def test_the_definitions_load_with_every_group():
    dg.Definitions.validate_loadable(definitions.defs)
    graph = definitions.defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {
        "buildos",
        "staging",
        "intermediate",
        "marts",
        "accounts",
        "shared",
        "publish",
        "dashboards",
    }


ACCOUNT_IDS = [f"{n:08x}-0000-4000-8000-000000000000" for n in range(1, 8)]


@pytest.fixture
def instance(tmp_path):
    """An instance in the test's folder (a schedule's context needs one it can reopen)."""
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        yield instance


def _instance_with_accounts(instance, ids=ACCOUNT_IDS) -> dg.DagsterInstance:
    instance.add_dynamic_partitions("accounts", ids)
    return instance


def _run_requests(schedule, when: datetime, instance):
    context = dg.build_schedule_context(scheduled_execution_time=when, instance=instance)
    return schedule.evaluate_tick(context).run_requests


def test_hourly_refresh_asks_for_every_account_one_run_per_batch(monkeypatch, instance):
    monkeypatch.setenv("BUILDOS_ACCOUNTS_PER_RUN", "3")
    schedule = definitions.hourly_refresh
    assert schedule.cron_schedule == "0 * * * *"
    assert schedule.job_name == "accounts_refresh"
    requests = _run_requests(
        schedule, datetime(2026, 3, 2, 10, tzinfo=UTC), _instance_with_accounts(instance)
    )
    ranges = [
        (r.tags["dagster/asset_partition_range_start"], r.tags["dagster/asset_partition_range_end"])
        for r in requests
    ]
    ids = ACCOUNT_IDS
    assert ranges == [(ids[0], ids[2]), (ids[3], ids[5]), (ids[6], ids[6])]
    assert len({r.run_key for r in requests}) == 3
    job = definitions.defs.resolve_job_def("accounts_refresh")
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert "buildos/projects" in keys and "marts/fct_velocity_weekly" in keys
    assert "accounts/release" in keys
    assert "exports/current" not in keys and "dashboards/executive" not in keys
    publish = definitions.defs.resolve_job_def("publish")
    keys = {key.to_user_string() for key in publish.asset_layer.executable_asset_keys}
    assert {"shared/dim_projects", "exports/current", "alerts/projects_at_risk"} <= keys


def test_a_batch_whose_accounts_are_still_running_waits_for_the_next_tick(monkeypatch, instance):
    monkeypatch.setenv("BUILDOS_ACCOUNTS_PER_RUN", "3")
    instance = _instance_with_accounts(instance)
    job = definitions.defs.resolve_job_def("accounts_refresh")
    # An earlier run still holds accounts 4 to 6.
    instance.create_run_for_job(
        job,
        tags={
            "dagster/asset_partition_range_start": ACCOUNT_IDS[3],
            "dagster/asset_partition_range_end": ACCOUNT_IDS[5],
        },
        status=dg.DagsterRunStatus.STARTED,
    )
    requests = _run_requests(
        definitions.hourly_refresh, datetime(2026, 3, 2, 11, tzinfo=UTC), instance
    )
    starts = [r.tags["dagster/asset_partition_range_start"] for r in requests]
    assert starts == [ACCOUNT_IDS[0], ACCOUNT_IDS[6]]


def test_the_daily_reconciliation_is_spread_over_the_day():
    from pipeline.partitions import reconcile_hour

    hours = [reconcile_hour(f"{n:08x}-1111-4111-8111-111111111111") for n in range(2400)]
    per_hour = [hours.count(h) for h in range(24)]
    assert min(per_hour) > 60 and max(per_hour) < 140  # about 100 each, none crowded
    assert reconcile_hour(ACCOUNT_IDS[0]) == reconcile_hour(ACCOUNT_IDS[0])
    assert definitions.full_reconciliation_job.config == {
        "ops": {"buildos_sync": {"config": {"full": True}}}
    }


def test_the_registry_sensor_adds_and_removes_account_partitions(instance):
    instance = _instance_with_accounts(instance, ACCOUNT_IDS[:3])
    registered = [ACCOUNT_IDS[1], ACCOUNT_IDS[2], ACCOUNT_IDS[4]]
    context = dg.build_sensor_context(instance=instance)
    result = automation.registry_changes(context, registered)
    requests = result.dynamic_partitions_requests
    assert [(type(r).__name__, list(r.partition_keys)) for r in requests] == [
        ("AddDynamicPartitionsRequest", [ACCOUNT_IDS[4]]),
        ("DeleteDynamicPartitionsRequest", [ACCOUNT_IDS[0]]),
    ]


def test_publish_waits_until_no_account_run_is_left(instance):
    instance = _instance_with_accounts(instance, ACCOUNT_IDS[:2])
    context = dg.build_sensor_context(instance=instance)
    assert isinstance(
        automation.publish_when_settled(context, "accounts_refresh"), dg.SkipReason
    )  # nothing released yet


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
