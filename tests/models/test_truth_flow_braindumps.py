"""Flow, brain dump and daily brief marts against the sandbox's ground truth.

Each scenario syncs a sandbox, builds every model, and compares each mart row for row with the
same metric computed here from the truth with Polars (true state intervals, rows at `now`),
never from the models' SQL. Equality is exact: durations are whole microseconds divided once,
and latency percentiles are kept to the millisecond, as the marts keep them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from pipeline.models import load_models, run_test
from pipeline.sandbox import SimulationOptions
from tests.models.truth import (
    NOW,
    Built,
    build_from_sandbox,
    live_project_ids,
    parse,
    task_intervals,
)

US_PER_DAY = 86_400_000_000
US_PER_SECOND = 1_000_000
WIP_STATES = ("in_progress", "blocked")


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _day_end(built: Built, day: date) -> datetime:
    """The end of a UTC day, or `now` for the partial as-of day."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
    return min(midnight, built.now)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _live_tasks(built: Built) -> pl.DataFrame:
    """Tasks not deleted, in projects not deleted, with their row at now."""
    live_projects = live_project_ids(built)
    rows = [
        {
            "account_id": account["account_id"],
            "project_id": task["project_id"],
            "task_id": task["id"],
            "created_at": parse(task["created_at"]),
            "task_state": task["row"]["state_key"],
            "completed_at": parse(task["row"]["completed_at"]),
        }
        for account in built.truth["accounts"]
        for task in account["tasks"]
        if task["deleted_at"] is None and task["project_id"] in live_projects
    ]
    return pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "project_id": pl.String,
            "task_id": pl.String,
            "created_at": pl.Datetime("us", "UTC"),
            "task_state": pl.String,
            "completed_at": pl.Datetime("us", "UTC"),
        },
    )


def _first_starts(built: Built) -> pl.DataFrame:
    return (
        task_intervals(built)
        .filter(pl.col("task_state") == "in_progress")
        .group_by("account_id", "task_id")
        .agg(pl.col("valid_from").min().alias("first_started_at"))
    )


def _micros(end: str | pl.Expr, start: str | pl.Expr) -> pl.Expr:
    end = pl.col(end) if isinstance(end, str) else end
    start = pl.col(start) if isinstance(start, str) else start
    return (end - start).dt.total_microseconds()


def _per(expr: pl.Expr, unit: int) -> pl.Expr:
    """expr / unit, correctly rounded (Polars divides by a constant as a multiplication by its
    reciprocal, which can be one unit in the last place off a true division)."""

    def divide(values: pl.Series) -> pl.Series:
        return pl.Series([None if v is None else v / unit for v in values], dtype=pl.Float64)

    return expr.map_batches(divide, return_dtype=pl.Float64)


def _in_days(expr: pl.Expr) -> pl.Expr:
    return _per(expr, US_PER_DAY)


def _percentile(values: list[float], q: float) -> float | None:
    """Continuous percentile, linear between the closest ranks (Hyndman-Fan type 7, what
    quantile_cont, numpy and Excel's PERCENTILE.INC compute), to the millisecond."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q
    low, high = math.floor(rank), math.ceil(rank)
    value = ordered[low] + (rank - low) * (ordered[high] - ordered[low])
    return round(value, 3)


# --- expected marts, from the truth ---------------------------------------------------------


def expected_task_flow(built: Built) -> pl.DataFrame:
    completed = _live_tasks(built).filter(
        (pl.col("task_state") == "done") & (pl.col("completed_at") < built.now)
    )
    history = (
        task_intervals(built)
        .drop("project_id")
        .join(
            completed.select("account_id", "task_id", "completed_at"), on=["account_id", "task_id"]
        )
        .filter(pl.col("valid_from") < pl.col("completed_at"))
        .with_columns(
            blocked_us=pl.when(pl.col("task_state") == "blocked").then(
                _micros(
                    pl.min_horizontal(
                        pl.col("valid_to").fill_null(pl.col("completed_at")), "completed_at"
                    ),
                    "valid_from",
                )
            )
        )
        .group_by("account_id", "task_id")
        .agg(
            first_started_at=pl.col("valid_from")
            .filter(pl.col("task_state") == "in_progress")
            .min(),
            blocked_us=pl.col("blocked_us").sum(),
            times_reopened=(
                (pl.col("task_state") == "done") & pl.col("valid_to").is_not_null()
            ).sum(),
        )
    )
    return (
        completed.join(history, on=["account_id", "task_id"], how="left")
        .with_columns(
            lead_time_days=_in_days(_micros("completed_at", "created_at")),
            cycle_time_days=_in_days(_micros("completed_at", "first_started_at")),
            blocked_days=_in_days(pl.col("blocked_us").fill_null(0)),
            times_reopened=pl.col("times_reopened").fill_null(0).cast(pl.Int64),
            completed_date=pl.col("completed_at").dt.date(),
        )
        .with_columns(completed_week_start=pl.col("completed_date").map_elements(_monday, pl.Date))
        .select(
            "account_id",
            "project_id",
            "task_id",
            "created_at",
            "first_started_at",
            "completed_at",
            "lead_time_days",
            "cycle_time_days",
            "blocked_days",
            "times_reopened",
            "completed_date",
            "completed_week_start",
        )
    )


def _project_days(built: Built) -> pl.DataFrame:
    live_projects = live_project_ids(built)
    rows = [
        {
            "account_id": account["account_id"],
            "project_id": project["id"],
            "day_date": day,
            "day_end_at": _day_end(built, day),
        }
        for account in built.truth["accounts"]
        for project in account["projects"]
        if project["id"] in live_projects
        for day in _days(parse(project["created_at"]).date(), built.as_of_date)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "project_id": pl.String,
            "day_date": pl.Date,
            "day_end_at": pl.Datetime("us", "UTC"),
        },
    )


def expected_flow_daily(built: Built) -> pl.DataFrame:
    days = _project_days(built)
    # The state at the end of the day: the interval holding the instant just before day_end.
    states = (
        task_intervals(built)
        .join(days, on=["account_id", "project_id"])
        .filter(
            (pl.col("valid_from") < pl.col("day_end_at"))
            & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= pl.col("day_end_at")))
        )
        .join(_first_starts(built), on=["account_id", "task_id"], how="left")
        .with_columns(
            age_us=pl.when(
                pl.col("task_state").is_in(WIP_STATES)
                & (pl.col("first_started_at") < pl.col("day_end_at"))
            ).then(_micros("day_end_at", "first_started_at"))
        )
        .group_by("account_id", "project_id", "day_date")
        .agg(
            *[
                (pl.col("task_state") == state).sum().cast(pl.Int64).alias(f"{state}_tasks")
                for state in ("todo", "in_progress", "blocked", "done")
            ],
            age_sum=pl.col("age_us").sum(),
            age_count=pl.col("age_us").count(),
        )
    )
    throughput = (
        _live_tasks(built)
        .filter((pl.col("task_state") == "done") & (pl.col("completed_at") < built.now))
        .group_by("account_id", "project_id", day_date=pl.col("completed_at").dt.date())
        .agg(throughput_tasks=pl.len().cast(pl.Int64))
    )
    counts = ["todo_tasks", "in_progress_tasks", "blocked_tasks", "done_tasks"]
    return (
        days.join(throughput, on=["account_id", "project_id", "day_date"], how="left")
        .join(states, on=["account_id", "project_id", "day_date"], how="left")
        .with_columns(pl.col("throughput_tasks", *counts).fill_null(0))
        .with_columns(
            wip_tasks=pl.col("in_progress_tasks") + pl.col("blocked_tasks"),
            wip_average_age_days=pl.when(pl.col("age_count") > 0).then(
                _in_days(pl.col("age_sum") / pl.col("age_count"))
            ),
        )
        .select(
            "account_id",
            "project_id",
            "day_date",
            "throughput_tasks",
            *counts,
            "wip_tasks",
            "wip_average_age_days",
        )
    )


def expected_wip_aging(built: Built) -> pl.DataFrame:
    current = (
        task_intervals(built)
        .filter(pl.col("valid_to").is_null())
        .select("account_id", "task_id", current_state_since_at="valid_from")
    )
    return (
        _live_tasks(built)
        .filter(pl.col("task_state").is_in(WIP_STATES))
        .join(_first_starts(built), on=["account_id", "task_id"], how="left")
        .join(current, on=["account_id", "task_id"], how="left")
        .with_columns(
            age_days=_in_days(_micros(pl.lit(built.now), "first_started_at")),
            days_in_current_state=_in_days(_micros(pl.lit(built.now), "current_state_since_at")),
        )
        .select(
            "account_id",
            "project_id",
            "task_id",
            "task_state",
            "first_started_at",
            "current_state_since_at",
            "age_days",
            "days_in_current_state",
        )
    )


def _braindumps(built: Built) -> pl.DataFrame:
    rows = []
    for account in built.truth["accounts"]:
        for dump in account["braindumps"]:
            row = dump["row"]
            created = parse(dump["created_at"])
            if created >= built.now:
                continue
            processed = parse(row["processed_at"])
            rows.append(
                {
                    "account_id": account["account_id"],
                    "braindump_id": dump["id"],
                    "status": row["status"],
                    "topics": row["topics"] or [],
                    "created_at": created,
                    "created_date": created.date(),
                    "week_start": _monday(created.date()),
                    "latency_seconds": (
                        (processed - created) // timedelta(microseconds=1) / US_PER_SECOND
                        if row["status"] == "processed"
                        else None
                    ),
                }
            )
    return pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "braindump_id": pl.String,
            "status": pl.String,
            "topics": pl.List(pl.String),
            "created_at": pl.Datetime("us", "UTC"),
            "created_date": pl.Date,
            "week_start": pl.Date,
            "latency_seconds": pl.Float64,
        },
    )


def _braindump_periods(built: Built, period: str) -> pl.DataFrame:
    dumps = _braindumps(built)
    step = 7 if period == "week_start" else 1
    spine = []
    for account_id, first in dumps.group_by("account_id").agg(pl.col(period).min()).iter_rows():
        last = _monday(built.as_of_date) if step == 7 else built.as_of_date
        spine += [{"account_id": account_id, period: day} for day in _days(first, last)[::step]]
    counts = dumps.group_by("account_id", period).agg(
        braindumps_created=pl.len(),
        braindumps_processed=(pl.col("status") == "processed").sum(),
        braindumps_failed=(pl.col("status") == "failed").sum(),
        braindumps_pending=pl.col("status").is_in(["pending", "processing"]).sum(),
        latencies=pl.col("latency_seconds").drop_nulls(),
    )
    counts = counts.with_columns(
        latency_p50_seconds=pl.col("latencies").map_elements(
            lambda values: _percentile(values.to_list(), 0.5), return_dtype=pl.Float64
        ),
        latency_p90_seconds=pl.col("latencies").map_elements(
            lambda values: _percentile(values.to_list(), 0.9), return_dtype=pl.Float64
        ),
    ).drop("latencies")
    count_columns = [
        "braindumps_created",
        "braindumps_processed",
        "braindumps_failed",
        "braindumps_pending",
    ]
    frame = (
        pl.DataFrame(spine, schema={"account_id": pl.String, period: pl.Date})
        .join(counts, on=["account_id", period], how="left")
        .with_columns(pl.col(count_columns).fill_null(0).cast(pl.Int64))
        .with_columns(
            processed_rate=pl.when(pl.col("braindumps_created") > 0).then(
                pl.col("braindumps_processed") / pl.col("braindumps_created")
            ),
            failed_rate=pl.when(pl.col("braindumps_created") > 0).then(
                pl.col("braindumps_failed") / pl.col("braindumps_created")
            ),
        )
    )
    if period == "week_start":
        frame = frame.with_columns(
            iso_year=pl.col("week_start").dt.iso_year().cast(pl.Int64),
            iso_week=pl.col("week_start").dt.week().cast(pl.Int64),
        )
    return frame


def expected_braindumps_daily(built: Built) -> pl.DataFrame:
    return _braindump_periods(built, "created_date").rename({"created_date": "day_date"})


def expected_braindumps_weekly(built: Built) -> pl.DataFrame:
    return _braindump_periods(built, "week_start")


def expected_braindump_topics(built: Built) -> pl.DataFrame:
    dumps = _braindumps(built)
    totals = dumps.group_by("account_id").agg(account_braindumps=pl.len())
    return (
        dumps.explode("topics")
        .with_columns(topic=pl.col("topics").str.strip_chars().str.to_lowercase())
        .filter(pl.col("topic").is_not_null() & (pl.col("topic") != ""))
        .unique(["account_id", "braindump_id", "topic"])
        .group_by("account_id", "topic")
        .agg(
            braindumps=pl.len().cast(pl.Int64),
            first_seen_at=pl.col("created_at").min(),
            last_seen_at=pl.col("created_at").max(),
        )
        .join(totals, on="account_id")
        .with_columns(share_of_braindumps=pl.col("braindumps") / pl.col("account_braindumps"))
        .drop("account_braindumps")
    )


def expected_briefs_daily(built: Built) -> pl.DataFrame:
    rows = []
    for account in built.truth["accounts"]:
        briefs = {
            date.fromisoformat(b["row"]["brief_date"]): b
            for b in account["briefs"]
            if date.fromisoformat(b["row"]["brief_date"]) <= built.as_of_date
        }
        if not briefs:
            continue
        streak = 0
        for day in _days(min(briefs), built.as_of_date):
            brief = briefs.get(day)
            status = brief["row"]["generation_status"] if brief else None
            streak = streak + 1 if status == "completed" else 0
            seconds = None
            if status == "completed":
                took = parse(brief["row"]["generation_completed_at"]) - parse(
                    brief["row"]["generation_started_at"]
                )
                seconds = took // timedelta(microseconds=1) / US_PER_SECOND
            rows.append(
                {
                    "account_id": account["account_id"],
                    "day_date": day,
                    "brief_id": brief["id"] if brief else None,
                    "generation_status": status,
                    "has_brief": brief is not None,
                    "is_generated": status == "completed",
                    "is_failed": status == "failed",
                    "generation_seconds": seconds,
                    "current_streak_days": streak,
                }
            )
    return pl.DataFrame(rows, infer_schema_length=None)


def expected_brief_summary(built: Built) -> pl.DataFrame:
    days = expected_briefs_daily(built)
    rows = []
    for account in built.truth["accounts"]:
        mine = days.filter(pl.col("account_id") == account["account_id"]).sort("day_date")
        streaks = dict(zip(mine["day_date"], mine["current_streak_days"], strict=True))
        completed = int(mine["is_generated"].sum()) if len(mine) else 0
        failed = int(mine["is_failed"].sum()) if len(mine) else 0
        current = streaks.get(built.as_of_date, 0) or streaks.get(
            built.as_of_date - timedelta(days=1), 0
        )
        rows.append(
            {
                "account_id": account["account_id"],
                "as_of_date": built.as_of_date,
                "briefs": int(mine["has_brief"].sum()) if len(mine) else 0,
                "briefs_completed": completed,
                "briefs_failed": failed,
                "success_rate": completed / (completed + failed) if completed + failed else None,
                "longest_streak_days": max(streaks.values(), default=0),
                "current_streak_days": current,
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


# --- comparison -----------------------------------------------------------------------------

MARTS: dict[str, tuple[Callable[[Built], pl.DataFrame], tuple[str, ...]]] = {
    "fct_task_flow": (expected_task_flow, ("account_id", "task_id")),
    "fct_flow_daily": (expected_flow_daily, ("account_id", "project_id", "day_date")),
    "fct_wip_aging": (expected_wip_aging, ("account_id", "task_id")),
    "fct_braindumps_daily": (expected_braindumps_daily, ("account_id", "day_date")),
    "fct_braindumps_weekly": (expected_braindumps_weekly, ("account_id", "week_start")),
    "fct_braindump_topics": (expected_braindump_topics, ("account_id", "topic")),
    "fct_briefs_daily": (expected_briefs_daily, ("account_id", "day_date")),
    "fct_brief_summary": (expected_brief_summary, ("account_id",)),
}


def differences(
    built: Built, mart: str, rows: pl.Expr | None = None, columns: list[str] | None = None
) -> str | None:
    """None when the mart equals the truth exactly (on the rows and columns given, else all);
    otherwise an account of the first rows that differ."""
    compute, key = MARTS[mart]
    actual = built.sql(f"select * from marts.{mart}")
    expected = compute(built)
    if set(actual.columns) != set(expected.columns):
        return f"{mart}: columns {sorted(actual.columns)} != {sorted(expected.columns)}"
    if rows is not None:
        actual, expected = actual.filter(rows), expected.filter(rows)
    if actual.is_empty() or expected.is_empty():
        return f"{mart}: no rows to compare (the scenario should exercise it)"
    columns = list(dict.fromkeys([*key, *(columns or actual.columns)]))
    got = {tuple(r[k] for k in key): r for r in actual.select(columns).to_dicts()}
    want = {tuple(r[k] for k in key): r for r in expected.select(columns).to_dicts()}
    problems = [f"missing {k}" for k in sorted(want.keys() - got.keys(), key=str)[:3]]
    problems += [f"unexpected {k}" for k in sorted(got.keys() - want.keys(), key=str)[:3]]
    for k in sorted(want.keys() & got.keys(), key=str):
        diff = {c: (got[k][c], want[k][c]) for c in columns if got[k][c] != want[k][c]}
        if diff:
            problems.append(f"{k}: (model, truth) {diff}")
        if len(problems) >= 6:
            break
    if problems:
        return f"{mart} ({len(got)} rows, truth {len(want)}):\n  " + "\n  ".join(problems)
    return None


def data_test_failures(built: Built) -> str | None:
    """The models' own .yml tests (the Dagster asset checks) on the built warehouse."""
    names = {*MARTS, "int_braindump_outcomes"}
    failures = [
        f"{model.name}.{test.name}: {count} rows, e.g. {sample[:2]}"
        for model in load_models()
        if model.name in names
        for test in model.tests
        for count, sample in [run_test(built.con, test)]
        if count
    ]
    return "\n".join(failures) or None


def throughput_against_velocity(built: Built) -> str | None:
    """A week of fct_flow_daily's throughput is that week's fct_velocity_weekly count."""
    weekly = (
        built.sql("select * from marts.fct_flow_daily")
        .group_by("account_id", "project_id", week_start=pl.col("day_date").dt.truncate("1w"))
        .agg(pl.col("throughput_tasks").sum())
    )
    velocity = built.sql("select * from marts.fct_velocity_weekly").join(
        weekly, on=["account_id", "project_id", "week_start"], how="left"
    )
    wrong = velocity.filter(
        pl.col("throughput_tasks").fill_null(0) != pl.col("tasks_completed")
    ).select("project_id", "week_start", "throughput_tasks", "tasks_completed")
    return f"throughput against velocity:\n{wrong.head(5)}" if len(wrong) else None


def assert_no_differences(*messages: str | None) -> None:
    failures = [message for message in messages if message]
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    "options",
    [
        SimulationOptions(
            seed=1,
            accounts=2,
            projects_per_account=4,
            tasks_per_project=20,
            now=NOW,
            silent_change_rate=0,
        ),
        SimulationOptions(
            seed=11,
            accounts=1,
            projects_per_account=6,
            tasks_per_project=35,
            days=90,
            now=NOW + timedelta(hours=15, minutes=30),  # a partial as-of day
            silent_change_rate=0,
        ),
    ],
    ids=["seed1-small", "seed11-partial-day"],
)
def test_marts_equal_the_truth_when_every_change_was_logged(tmp_path, options):
    built = build_from_sandbox(tmp_path, options)
    assert_no_differences(data_test_failures(built), *(differences(built, mart) for mart in MARTS))


def _observable_task_ids(built: Built) -> list[str]:
    """Tasks whose every state change but the moves to done (which completed_at dates) left a
    log: only for those can the pipeline know each instant of the history."""
    return [
        task["id"]
        for account in built.truth["accounts"]
        for task in account["tasks"]
        if all(
            change["logged"] or change["fields"].get("state_key") in (None, "done")
            for change in task["changes"]
        )
    ]


def test_day_level_flow_equals_the_truth_on_every_synced_day(tmp_path):
    # Unlogged changes at the default rate, then three more days, each synced at its end.
    options = SimulationOptions(
        seed=3, accounts=2, projects_per_account=4, tasks_per_project=20, now=NOW
    )
    built = build_from_sandbox(tmp_path, options, advance_days=(1, 1, 1))
    # A change that left no log, before the first sync, is out of the pipeline's sight: the
    # end-of-day states are exact from the day the first sync closed.
    first_synced_day = (NOW - timedelta(microseconds=1)).date()
    observable = pl.col("task_id").is_in(_observable_task_ids(built))
    assert_no_differences(
        data_test_failures(built),
        throughput_against_velocity(built),
        differences(built, "fct_flow_daily", pl.col("day_date") >= first_synced_day),
        differences(built, "fct_flow_daily", columns=["throughput_tasks"]),
        differences(built, "fct_task_flow", observable),
        differences(
            built,
            "fct_task_flow",
            columns=["project_id", "created_at", "completed_at", "lead_time_days"],
        ),
        differences(built, "fct_wip_aging", observable),
        differences(built, "fct_wip_aging", columns=["project_id", "task_state"]),
        *(
            differences(built, mart)
            for mart in MARTS
            if mart not in ("fct_flow_daily", "fct_task_flow", "fct_wip_aging")
        ),
    )
