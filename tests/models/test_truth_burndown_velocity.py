"""Task-by-day status, burndown and velocity against the sandbox's ground truth.

Expected values come from the truth's state intervals with Polars; the models' SQL is never
used to compute them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from pipeline.resources import DEFAULT_EFFORT_WEIGHTS
from pipeline.sandbox import SimulationOptions
from tests.models.truth import NOW, Built, build_from_sandbox, live_project_ids, parse

EXACT_CASES = [
    pytest.param(
        SimulationOptions(
            seed=1,
            accounts=2,
            projects_per_account=4,
            tasks_per_project=20,
            days=60,
            now=NOW,
            silent_change_rate=0.0,
        ),
        id="seed1-small",
    ),
    pytest.param(
        SimulationOptions(
            seed=5,
            accounts=1,
            projects_per_account=10,
            tasks_per_project=40,
            days=90,
            now=NOW,
            silent_change_rate=0.0,
        ),
        id="seed5-medium",
    ),
]


def _midnight_after(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def true_task_days(built: Built) -> pl.DataFrame:
    """Each task of a live project on each day it is in scope, with its end-of-day state."""
    live = live_project_ids(built)
    rows = []
    for account in built.truth["accounts"]:
        for task in account["tasks"]:
            if task["project_id"] not in live:
                continue
            created, deleted = parse(task["created_at"]), parse(task["deleted_at"])
            intervals = [
                (parse(i["valid_from"]), parse(i["valid_to"]), i["state"])
                for i in task["state_intervals"]
            ]
            day = created.date()
            while day <= built.as_of_date:
                day_end = min(_midnight_after(day), built.now)
                if created < day_end and (deleted is None or deleted >= day_end):
                    state = next(
                        s
                        for start, end, s in intervals
                        if start < day_end and (end is None or end >= day_end)
                    )
                    rows.append(
                        {
                            "account_id": account["account_id"],
                            "project_id": task["project_id"],
                            "task_id": task["id"],
                            "day_date": day,
                            "task_state": state,
                            "facet_scale": _scale(task["row"]),
                        }
                    )
                day += timedelta(days=1)
    return pl.DataFrame(rows)


def _scale(row: dict) -> str | None:
    return row.get("facet_scale") or ((row.get("props") or {}).get("facets") or {}).get("scale")


def true_burndown(built: Built, task_days: pl.DataFrame) -> pl.DataFrame:
    weights = pl.DataFrame(
        {
            "facet_scale": list(DEFAULT_EFFORT_WEIGHTS),
            "weight": list(DEFAULT_EFFORT_WEIGHTS.values()),
        }
    )
    state = (
        task_days.join(weights, on="facet_scale", how="left")
        .with_columns(pl.col("weight").fill_null(0.0))
        .group_by("account_id", "project_id", "day_date")
        .agg(
            scope_tasks=pl.len(),
            completed_tasks=(pl.col("task_state") == "done").sum(),
            scope_points=pl.col("weight").sum(),
            completed_points=pl.col("weight").filter(pl.col("task_state") == "done").sum(),
        )
    )
    live = live_project_ids(built)
    tasks, days = [], []
    for account in built.truth["accounts"]:
        for task in account["tasks"]:
            if task["project_id"] in live:
                tasks.append(
                    {
                        "account_id": account["account_id"],
                        "project_id": task["project_id"],
                        "created_date": parse(task["created_at"]).date(),
                        "deleted_date": parse(task["deleted_at"]).date()
                        if task["deleted_at"]
                        else None,
                    }
                )
        for project in account["projects"]:
            if project["id"] not in live:
                continue
            day = parse(project["created_at"]).date()
            while day <= built.as_of_date:
                days.append(
                    {
                        "account_id": account["account_id"],
                        "project_id": project["id"],
                        "day_date": day,
                    }
                )
                day += timedelta(days=1)
    task_frame = pl.DataFrame(tasks)
    added = (
        task_frame.group_by("account_id", "project_id", "created_date")
        .agg(added_tasks=pl.len())
        .rename({"created_date": "day_date"})
    )
    removed = (
        task_frame.drop_nulls("deleted_date")
        .group_by("account_id", "project_id", "deleted_date")
        .agg(removed_tasks=pl.len())
        .rename({"deleted_date": "day_date"})
    )
    keys = ["account_id", "project_id", "day_date"]
    return (
        pl.DataFrame(days)
        .join(state, on=keys, how="left")
        .join(added, on=keys, how="left")
        .join(removed, on=keys, how="left")
        .fill_null(0)
        .sort(keys)
    )


def true_velocity(built: Built) -> pl.DataFrame:
    live = live_project_ids(built)
    rows, weeks = [], []
    for account in built.truth["accounts"]:
        for task in account["tasks"]:
            row = task["row"]
            if (
                task["project_id"] in live
                and task["deleted_at"] is None
                and row["state_key"] == "done"
            ):
                completed = parse(row["completed_at"])
                scale = _scale(row)
                rows.append(
                    {
                        "account_id": account["account_id"],
                        "project_id": task["project_id"],
                        "week_start": completed.date() - timedelta(days=completed.weekday()),
                        "points": DEFAULT_EFFORT_WEIGHTS.get(scale, 0.0),
                        "unscaled": scale is None,
                    }
                )
        for project in account["projects"]:
            if project["id"] not in live:
                continue
            created = parse(project["created_at"]).date()
            week = created - timedelta(days=created.weekday())
            last = built.as_of_date - timedelta(days=built.as_of_date.weekday())
            while week <= last:
                weeks.append(
                    {
                        "account_id": account["account_id"],
                        "project_id": project["id"],
                        "week_start": week,
                    }
                )
                week += timedelta(days=7)
    keys = ["account_id", "project_id", "week_start"]
    completed = (
        pl.DataFrame(rows)
        .group_by(keys)
        .agg(
            tasks_completed=pl.len(),
            points_completed=pl.col("points").sum(),
            unscaled_tasks_completed=pl.col("unscaled").sum(),
        )
    )
    frame = pl.DataFrame(weeks).join(completed, on=keys, how="left").fill_null(0).sort(keys)
    by_project = ["account_id", "project_id"]
    return frame.with_columns(
        tasks_completed_avg_3w=pl.col("tasks_completed")
        .cast(pl.Float64)
        .rolling_mean(3, min_samples=1)
        .over(by_project),
        tasks_completed_avg_6w=pl.col("tasks_completed")
        .cast(pl.Float64)
        .rolling_mean(6, min_samples=1)
        .over(by_project),
    )


def _model(built: Built, query: str, keys: list[str]) -> pl.DataFrame:
    return built.sql(query).sort(keys)


@pytest.mark.parametrize("options", EXACT_CASES)
def test_task_days_burndown_and_velocity_equal_the_truth(tmp_path, options):
    built = build_from_sandbox(tmp_path, options)
    expected_days = true_task_days(built)
    keys = ["account_id", "task_id", "day_date"]
    actual_days = _model(
        built,
        "select account_id, project_id, task_id, day_date, task_state, "
        "facet_scale from intermediate.int_task_days",
        keys,
    )
    assert actual_days.height == expected_days.height > 0
    assert actual_days.equals(expected_days.select(actual_days.columns).sort(keys))

    burndown_keys = ["account_id", "project_id", "day_date"]
    expected = true_burndown(built, expected_days)
    columns = [
        "account_id",
        "project_id",
        "day_date",
        "scope_tasks",
        "completed_tasks",
        "added_tasks",
        "removed_tasks",
        "scope_points",
        "completed_points",
    ]
    actual = _model(
        built, f"select {', '.join(columns)} from marts.fct_burndown_daily", burndown_keys
    )
    expected = expected.select(columns).with_columns(
        pl.col(c).cast(actual.schema[c]) for c in columns[3:]
    )
    assert actual.equals(expected)
    # The scope identity holds day by day: yesterday's scope + added - removed.
    check = built.sql("select * from marts.fct_burndown_daily").sort(burndown_keys)
    previous = check.select(pl.col("scope_tasks").shift(1).over("account_id", "project_id"))
    following = check.with_columns(previous=previous.to_series()).drop_nulls("previous")
    assert (
        following["previous"] + following["added_tasks"] - following["removed_tasks"]
        == following["scope_tasks"]
    ).all()

    velocity_keys = ["account_id", "project_id", "week_start"]
    expected_velocity = true_velocity(built)
    columns = [
        "account_id",
        "project_id",
        "week_start",
        "tasks_completed",
        "points_completed",
        "unscaled_tasks_completed",
        "tasks_completed_avg_3w",
        "tasks_completed_avg_6w",
    ]
    actual_velocity = _model(
        built, f"select {', '.join(columns)} from marts.fct_velocity_weekly", velocity_keys
    )
    expected_velocity = expected_velocity.select(columns).with_columns(
        pl.col(c).cast(actual_velocity.schema[c]) for c in columns[3:]
    )
    assert actual_velocity.equals(expected_velocity)


def test_with_unlogged_changes_daily_syncs_keep_day_level_metrics_exact(tmp_path):
    """Changes that left no log: velocity and scope are always exact (completed_at, created_at,
    deleted_at); end-of-day states are exact from the first sync on, because each daily full
    sync records every changed task's version with its updated_at."""
    options = SimulationOptions(
        seed=9,
        accounts=1,
        projects_per_account=8,
        tasks_per_project=40,
        days=60,
        now=NOW,
        silent_change_rate=0.25,
    )
    built = build_from_sandbox(tmp_path, options, advance_days=(1, 1, 1, 1, 1))
    first_synced_day = NOW.date() - timedelta(days=1)
    expected_days = true_task_days(built)
    keys = ["account_id", "task_id", "day_date"]
    actual_days = _model(
        built,
        "select account_id, project_id, task_id, day_date, task_state, "
        "facet_scale from intermediate.int_task_days",
        keys,
    )
    assert actual_days.height == expected_days.height  # scope is exact on every day
    since = pl.col("day_date") >= first_synced_day
    assert actual_days.filter(since).equals(
        expected_days.select(actual_days.columns).sort(keys).filter(since)
    )

    columns = ["account_id", "project_id", "week_start", "tasks_completed", "points_completed"]
    actual_velocity = _model(
        built, f"select {', '.join(columns)} from marts.fct_velocity_weekly", columns[:3]
    )
    expected_velocity = (
        true_velocity(built)
        .select(columns)
        .with_columns(pl.col(c).cast(actual_velocity.schema[c]) for c in columns[3:])
    )
    assert actual_velocity.equals(expected_velocity)
    # The silent share was high enough that some change went unlogged.
    silent = sum(
        1
        for a in built.truth["accounts"]
        for t in a["tasks"]
        for c in t["changes"]
        if not c["logged"]
    )
    assert silent > 20
