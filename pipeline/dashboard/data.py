"""The dashboard's numbers: one function, `dashboard_data`, reads them from the `bi` views.

Every number is read from a `bi` view and at most selected, filtered or summed here. "Now" is
the data's as-of date, never the machine's clock. The page and the CLI's summary both use it.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from pipeline.dashboard.accounts import account_labels, label_projects, per_account, repeated_names
from pipeline.dashboard.query import ACCOUNT, fetch_one, fetch_rows

VELOCITY_WEEKS = 12
ACTIVITY_WEEKS = 4  # "most active": tasks completed over the as-of week and the 3 before it
TOP_PROJECTS = 4
FLOW_DAYS = 28  # the flow panel: the as-of day and the 27 before it
STALE_WIP_DAYS = 14  # work in progress older than this is called out
AVERAGE_WEEKS = 3  # the rolling average: the 3 complete weeks up to and including the week
BRAINDUMP_DAYS = 56


def _as_of_date(con: duckdb.DuckDBPyConnection, params: dict) -> date | None:
    """The day the data describes: the accounts' one as-of day (bi.dim_accounts), the latest
    one across accounts for the portfolio."""
    row = fetch_one(con, f"select max(as_of_date) from bi.dim_accounts where {ACCOUNT}", params)
    return row[0]


def dashboard_data(con: duckdb.DuckDBPyConnection, account_id: str | None = None) -> dict:
    """Everything the page shows, as plain dicts of dates and numbers, for one account or
    (account_id None) the whole portfolio summed over accounts."""
    params = {"account_id": account_id}
    as_of = _as_of_date(con, params)
    accounts = fetch_one(
        con, f"select count(distinct account_id) from bi.dim_projects where {ACCOUNT}", params
    )[0]
    data: dict = {
        "account_id": account_id,
        "accounts": accounts,
        "as_of_date": as_of,
        "this_week_start": None,
        "last_week_start": None,
        "as_of_at": None,
        "average_weeks": AVERAGE_WEEKS,
        "velocity_weeks": VELOCITY_WEEKS,
        "kpis": _kpis(con, params),
        "velocity": [],
        "burndown": [],
        "at_risk": _at_risk(con, params),
        "account_labels": account_labels(con, params),
        "flow": None,
        "per_account": [],
        "braindumps": {
            "first_day": None,
            "last_day": None,
            "days": [],
            "created": 0,
            "processed": 0,
            "failed": 0,
            "pending": 0,
            "processed_rate": None,
        },
    }
    if as_of is None:
        label_projects(data["at_risk"], set(), data["account_labels"])
        return data
    this_week = as_of - timedelta(days=as_of.weekday())
    last_week = this_week - timedelta(weeks=1)
    data["this_week_start"], data["last_week_start"] = this_week, last_week
    data["as_of_at"] = fetch_one(
        con, f"select max(as_of_at) from bi.dim_accounts where {ACCOUNT}", params
    )[0]
    weeks = fetch_rows(
        con,
        f"""
        select week_start, sum(tasks_completed) as tasks_completed
        from bi.fct_velocity_weekly
        where {ACCOUNT} and week_start between $first_week and $this_week
        group by week_start
        order by week_start
        """,
        {
            **params,
            "first_week": this_week - timedelta(weeks=VELOCITY_WEEKS + AVERAGE_WEEKS - 2),
            "this_week": this_week,
        },
    )
    data["velocity"] = complete_week_averages(weeks, this_week, as_of)[-VELOCITY_WEEKS:]
    data["kpis"] |= _week_to_date(con, params, data["velocity"], this_week, last_week)
    data["burndown"] = _burndown(con, params, as_of, this_week)
    data["braindumps"] = _braindumps(con, params, as_of)
    data["flow"] = _flow(con, params, as_of)
    data["per_account"] = per_account(con, params, data["account_labels"])
    repeated = repeated_names(con, params)
    label_projects(data["at_risk"], repeated, data["account_labels"])
    label_projects(data["burndown"], repeated, data["account_labels"])
    return data


def complete_week_averages(weeks: list[dict], this_week: date, as_of: date) -> list[dict]:
    """Each week's total (zero when no row), whether it is complete (it ended on or before the
    as-of day) and the mean of the AVERAGE_WEEKS complete weeks ending with it: only complete
    weeks are averaged, so a week still running never drags the line down. A week still
    running gets no average (the line stops at the last complete week)."""
    totals = {row["week_start"]: row["tasks_completed"] or 0 for row in weeks}
    first = min(totals, default=this_week)
    out, window = [], []
    week = first
    while week <= this_week:
        complete = week + timedelta(days=7) <= as_of
        value = totals.get(week, 0)
        if complete:
            window = [*window, value][-AVERAGE_WEEKS:]
        out.append(
            {
                "week_start": week,
                "tasks_completed": value,
                "is_complete": complete,
                "average_complete_weeks": sum(window) / len(window)
                if complete and len(window) == AVERAGE_WEEKS
                else None,
            }
        )
        week += timedelta(weeks=1)
    return out


def _week_to_date(
    con: duckdb.DuckDBPyConnection,
    params: dict,
    weeks: list[dict],
    this_week: date,
    last_week: date,
) -> dict:
    """This week so far against the same stretch of last week: tasks finally completed from
    Monday 00:00 UTC to each account's as-of instant, and from a week earlier to that instant
    minus 7 days (fct_task_flow's completions, the ones velocity counts)."""
    this_period, same_days = fetch_one(
        con,
        f"""
        with accounts as (
            select
                account_id,
                as_of_at,
                cast(date_trunc('week', as_of_date) as timestamp) at time zone 'UTC'
                    as week_start_at
            from bi.dim_accounts
            where {ACCOUNT}
        )

        select
            count(*) filter (
                where flow.completed_at >= accounts.week_start_at
                and flow.completed_at < accounts.as_of_at
            ),
            count(*) filter (
                where flow.completed_at >= accounts.week_start_at - interval 7 day
                and flow.completed_at < accounts.as_of_at - interval 7 day
            )
        from bi.fct_task_flow as flow
        inner join accounts on flow.account_id = accounts.account_id
        """,
        params,
    )
    by_week = {row["week_start"]: row for row in weeks}
    complete = [row for row in weeks if row["is_complete"]]
    last_complete = complete[-1]["average_complete_weeks"] if complete else None
    return {
        "completed_this_week": this_period,
        "completed_same_days_last_week": same_days,
        "completed_last_week": by_week[last_week]["tasks_completed"] if last_week in by_week else 0,
        "average_complete_weeks": last_complete,
    }


def _kpis(con: duckdb.DuckDBPyConnection, params: dict) -> dict:
    active = fetch_one(
        con,
        f"""
        select count(*) from bi.dim_projects
        where {ACCOUNT} and project_state = 'active' and not coalesce(is_deleted, false)
        """,
        params,
    )[0]
    done, live, projects = fetch_one(
        con,
        f"""
        select coalesce(sum(done_tasks), 0), coalesce(sum(live_tasks), 0), count(*)
        from bi.fct_project_completion
        where {ACCOUNT}
        """,
        params,
    )
    at_risk, overdue, assessed, share, tasks = fetch_one(
        con,
        f"""
        select
            count(*) filter (where is_at_risk),
            count(*) filter (where risk_status = 'overdue'),
            count(*),
            max(behind_share_of_scope),
            max(behind_tasks)
        from bi.fct_project_risk
        where {ACCOUNT}
        """,
        params,
    )
    return {
        "active_projects": active,
        "live_projects": projects,
        "done_tasks": done,
        "live_tasks": live,
        "completion_pct": 100 * done / live if live else None,
        "completed_this_week": 0,
        "completed_same_days_last_week": 0,
        "completed_last_week": 0,
        "average_complete_weeks": None,
        "at_risk_projects": at_risk,
        "overdue_projects": overdue,
        "risk_tolerance": None if share is None else (share, tasks),
        "assessed_projects": assessed,
    }


def _burndown(
    con: duckdb.DuckDBPyConnection, params: dict, as_of: date, this_week: date
) -> list[dict]:
    """The most active projects (most tasks completed over the last ACTIVITY_WEEKS weeks, at
    least one) with their daily burndown rows and the view's projection."""
    top = fetch_rows(
        con,
        f"""
        with activity as (
            select account_id, project_id, sum(tasks_completed) as tasks_completed_recently
            from bi.fct_velocity_weekly
            where {ACCOUNT} and week_start between $first_week and $this_week
            group by account_id, project_id
            having sum(tasks_completed) > 0
        )

        select
            activity.account_id,
            activity.project_id,
            activity.tasks_completed_recently,
            coalesce(projects.project_name, activity.project_id) as project_name,
            projects.project_state,
            risk.end_date,
            coalesce(risk.is_at_risk, false) as is_at_risk
        from activity
        left join bi.dim_projects as projects
            on activity.account_id = projects.account_id
            and activity.project_id = projects.project_id
        left join bi.fct_project_risk as risk
            on activity.account_id = risk.account_id
            and activity.project_id = risk.project_id
        order by activity.tasks_completed_recently desc, project_name, activity.project_id
        limit {TOP_PROJECTS}
        """,
        {
            **params,
            "first_week": this_week - timedelta(weeks=ACTIVITY_WEEKS - 1),
            "this_week": this_week,
        },
    )
    projects = []
    for project in top:
        days = fetch_rows(
            con,
            """
            select
                day_date,
                scope_tasks,
                completed_tasks,
                remaining_tasks,
                ideal_remaining_tasks,
                projected_completion_date
            from bi.fct_burndown_daily
            where account_id = $account_id and project_id = $project_id
                and day_date <= $as_of
            order by day_date
            """,
            {
                "account_id": project["account_id"],
                "project_id": project["project_id"],
                "as_of": as_of,
            },
        )
        last = days[-1] if days else {}
        projects.append(
            {
                **project,
                "days": days,
                "scope_tasks": last.get("scope_tasks"),
                "completed_tasks": last.get("completed_tasks"),
                "remaining_tasks": last.get("remaining_tasks"),
                "ideal_remaining_tasks": last.get("ideal_remaining_tasks"),
                "projected_completion_date": last.get("projected_completion_date"),
            }
        )
    top_scope = max(
        [row["scope_tasks"] or 0 for project in projects for row in project["days"]] + [1]
    )
    for project in projects:
        project["ideal_to_end"] = ideal_to_end(project["days"], project["end_date"])
        project["y_top"] = top_scope  # one task scale for every panel, so they compare
    return projects


def ideal_to_end(days: list[dict], end: date | None) -> list[tuple[date, float]]:
    """The ideal line beyond the as-of day: the mart publishes it up to the as-of day; it is a
    straight line to 0 on the end date, so it is continued from the last day's value."""
    if not days or end is None:
        return []
    last = days[-1]
    value = last["ideal_remaining_tasks"]
    if value is None or end <= last["day_date"]:
        return []
    return [(last["day_date"], float(value)), (end, 0.0)]


def _flow(con: duckdb.DuckDBPyConnection, params: dict, as_of: date) -> dict:
    """Flow over the last FLOW_DAYS days to the as-of day: throughput (final completions, the
    ones velocity counts), cycle-time percentiles (continuous, as numpy's default) of the
    tasks completed then that were ever in progress, and WIP now with its age."""
    first_day = as_of - timedelta(days=FLOW_DAYS - 1)
    throughput, timed, p50, p85, p95 = fetch_one(
        con,
        f"""
        select
            count(*),
            count(cycle_time_days),
            quantile_cont(cycle_time_days, 0.5),
            quantile_cont(cycle_time_days, 0.85),
            quantile_cont(cycle_time_days, 0.95)
        from bi.fct_task_flow
        where {ACCOUNT} and completed_date between $first_day and $as_of
        """,
        {**params, "first_day": first_day, "as_of": as_of},
    )
    wip, aged, age_p50, oldest, stale = fetch_one(
        con,
        f"""
        select
            count(*),
            count(age_days),
            quantile_cont(age_days, 0.5),
            max(age_days),
            count(*) filter (where age_days > $stale_days)
        from bi.fct_wip_aging
        where {ACCOUNT}
        """,
        {**params, "stale_days": STALE_WIP_DAYS},
    )
    return {
        "first_day": first_day,
        "last_day": as_of,
        "days": FLOW_DAYS,
        "throughput": throughput,
        "throughput_per_week": throughput * 7 / FLOW_DAYS,
        "cycle_timed_tasks": timed,
        "cycle_time_p50_days": p50,
        "cycle_time_p85_days": p85,
        "cycle_time_p95_days": p95,
        "wip_tasks": wip,
        "wip_aged_tasks": aged,
        "wip_age_p50_days": age_p50,
        "wip_oldest_days": oldest,
        "wip_older_than_stale": stale,
        "stale_days": STALE_WIP_DAYS,
    }


def _at_risk(con: duckdb.DuckDBPyConnection, params: dict) -> list[dict]:
    return fetch_rows(
        con,
        f"""
        select
            account_id,
            project_id,
            coalesce(project_name, project_id) as project_name,
            project_state,
            risk_reasons,
            remaining_tasks,
            ideal_remaining_tasks,
            missed_milestones,
            blocked_tasks,
            projected_completion_date,
            end_date,
            risk_status
        from bi.fct_project_risk
        where {ACCOUNT} and is_at_risk
        order by
            risk_status = 'overdue' desc,
            len(risk_reasons) desc,
            remaining_tasks desc nulls last,
            project_name,
            project_id
        """,
        params,
    )


def _braindumps(con: duckdb.DuckDBPyConnection, params: dict, as_of: date) -> dict:
    first_day = as_of - timedelta(days=BRAINDUMP_DAYS - 1)
    days = fetch_rows(
        con,
        f"""
        select
            day_date,
            sum(braindumps_created) as created,
            sum(braindumps_processed) as processed,
            sum(braindumps_failed) as failed,
            sum(braindumps_pending) as pending
        from bi.fct_braindumps_daily
        where {ACCOUNT} and day_date between $first_day and $as_of
        group by day_date
        order by day_date
        """,
        {**params, "first_day": first_day, "as_of": as_of},
    )
    totals = {key: sum(row[key] or 0 for row in days) for key in ("created", "processed")}
    totals |= {key: sum(row[key] or 0 for row in days) for key in ("failed", "pending")}
    return {
        "first_day": first_day,
        "last_day": as_of,
        "days": days,
        **totals,
        "processed_rate": totals["processed"] / totals["created"] if totals["created"] else None,
    }
