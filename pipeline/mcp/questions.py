"""The follow-up questions an assistant asks after a status: which projects match a name,
which are at risk, and a project's velocity, burndown and flow. Each answer names the as-of
time of the accounts it covers; values reach SQL only as bound parameters."""

from __future__ import annotations

from pipeline.mcp.source import NotFound, Reader
from pipeline.mcp.status import resolve_project

PROJECT_STATES = ("planning", "active", "paused", "completed", "cancelled")
# A name counts as a match when it contains the query, or when the query's words are this
# close on average (Jaro-Winkler, 0-1) to the name's closest words: typos still find it.
SIMILARITY_FLOOR = 0.85
FIND_LIMIT = 20
AGING_SHOWN = 10


def find_projects(
    reader: Reader, query: str, state: str | None = None, account: str | None = None
) -> dict:
    """Live projects whose name contains the query or is close to it, best match first."""
    accounts = reader.account(account)
    text = query.strip()
    if not text:
        raise NotFound("give some of the project's name to search for")
    if state is not None and state not in PROJECT_STATES:
        raise NotFound(f"state must be one of {', '.join(PROJECT_STATES)}, not {state!r}")
    rows = reader.rows(
        "with scored as ("
        " select account_id, project_id, project_name, project_state, completion_pct,"
        " case when contains(lower(project_name), lower(?)) then 1.0 else"
        # each word of the query against the name's closest word, averaged
        " list_avg(list_transform(regexp_split_to_array(lower(?), '\\s+'), lambda q:"
        " list_max(list_transform(regexp_split_to_array(lower(project_name), '\\s+'),"
        " lambda w: jaro_winkler_similarity(w, q))))) end as match_score"
        " from marts.fct_project_status"
        " where list_contains(?, account_id) and (? is null or project_state = ?))"
        " select * from scored where match_score >= ?"
        " order by match_score desc, project_name, account_id, project_id limit ?",
        [text, text, accounts, state, state, SIMILARITY_FLOOR, FIND_LIMIT],
    )
    for row in rows:
        row["account_label"] = reader.accounts[row["account_id"]]["account_label"]
        row["match_score"] = round(row["match_score"], 3)
    return {
        "query": query,
        "projects": rows,
        "as_of": reader.as_of(accounts),
        "source": reader.release(),
    }


def at_risk_projects(reader: Reader, account: str | None = None) -> dict:
    """Active and planning projects at risk as of each account's last sync, with the reasons."""
    accounts = reader.account(account)
    rows = reader.rows(
        "select account_id, project_id, project_name, project_state, risk_reasons,"
        " remaining_tasks, ideal_remaining_tasks, missed_milestones, blocked_tasks,"
        " projected_completion_date, end_date, as_of_date"
        " from marts.fct_project_risk where list_contains(?, account_id) and is_at_risk"
        " order by account_id, project_name, project_id",
        [accounts],
    )
    for row in rows:
        row["account_label"] = reader.accounts[row["account_id"]]["account_label"]
    return {"projects": rows, "as_of": reader.as_of(accounts), "source": reader.release()}


def velocity(
    reader: Reader, project: str | None = None, account: str | None = None, weeks: int = 6
) -> dict:
    """Tasks and effort points completed per ISO week, the last `weeks` weeks up to the as-of
    week: one project's, or an account's projects summed."""
    if (project is None) == (account is None):
        raise NotFound("give either a project or an account, not both and not neither")
    if project is not None:
        found = resolve_project(reader, project)
        scope = {k: found[k] for k in ("account_id", "project_id", "project_name")}
        where, params = (
            "account_id = ? and project_id = ?",
            [
                found["account_id"],
                found["project_id"],
            ],
        )
        accounts = [found["account_id"]]
    else:
        accounts = reader.account(account)
        scope = {"account_ids": accounts}
        where, params = "list_contains(?, account_id)", [accounts]
    rows = reader.rows(
        "with weekly as ("
        " select week_start, iso_year, iso_week, sum(tasks_completed) as tasks_completed,"
        " sum(points_completed) as points_completed,"
        " sum(unscaled_tasks_completed) as unscaled_tasks_completed"
        f" from marts.fct_velocity_weekly where {where} group by all)"
        " select * from weekly order by week_start desc limit ?",
        [*params, weeks],
    )
    rows.reverse()
    done = [r["tasks_completed"] for r in rows]
    return {
        **scope,
        "weeks": rows,
        "average_tasks_per_week": round(sum(done) / len(done), 2) if done else None,
        "as_of": reader.as_of(accounts),
        "source": reader.release(),
    }


def burndown(reader: Reader, project: str, days: int = 14) -> dict:
    """The project's daily burndown and burnup, the last `days` days up to its as-of day."""
    found = resolve_project(reader, project)
    rows = reader.rows(
        "select day_date, scope_tasks, completed_tasks, remaining_tasks, added_tasks,"
        " removed_tasks, ideal_remaining_tasks, burn_rate, scope_growth_rate,"
        " projected_completion_date, scope_points, completed_points, remaining_points"
        " from marts.fct_burndown_daily where account_id = ? and project_id = ?"
        " order by day_date desc limit ?",
        [found["account_id"], found["project_id"], days],
    )
    rows.reverse()
    return {
        **{k: found[k] for k in ("account_id", "project_id", "project_name")},
        "days": rows,
        "as_of": reader.as_of([found["account_id"]]),
        "source": reader.release(),
    }


def flow(reader: Reader, project: str, days: int = 90) -> dict:
    """Cycle and lead time percentiles over the tasks completed in the last `days` days,
    work in progress now, and the oldest work items."""
    found = resolve_project(reader, project)
    key = [found["account_id"], found["project_id"]]
    account = reader.accounts[found["account_id"]]
    times = reader.rows(
        "select count(*) as completed_tasks, count(cycle_time_days) as with_cycle_time,"
        " quantile_cont(cycle_time_days, 0.5) as cycle_time_p50_days,"
        " quantile_cont(cycle_time_days, 0.85) as cycle_time_p85_days,"
        " quantile_cont(cycle_time_days, 0.95) as cycle_time_p95_days,"
        " quantile_cont(lead_time_days, 0.5) as lead_time_p50_days,"
        " quantile_cont(lead_time_days, 0.85) as lead_time_p85_days,"
        " avg(blocked_days) as blocked_days_mean"
        " from marts.fct_task_flow where account_id = ? and project_id = ?"
        " and completed_date > cast(? as date) - cast(? as integer)",
        [*key, account["as_of_date"], days],
    )[0]
    today = reader.rows(
        "select day_date, todo_tasks, in_progress_tasks, blocked_tasks, done_tasks, wip_tasks,"
        " wip_average_age_days from marts.fct_flow_daily"
        " where account_id = ? and project_id = ? order by day_date desc limit 1",
        key,
    )
    throughput = reader.rows(
        "select coalesce(sum(throughput_tasks), 0) as throughput_last_7_days"
        " from marts.fct_flow_daily where account_id = ? and project_id = ?"
        " and day_date > cast(? as date) - 7",
        [*key, account["as_of_date"]],
    )[0]
    aging = reader.rows(
        "select task_id, task_state, first_started_at, age_days, days_in_current_state"
        " from marts.fct_wip_aging where account_id = ? and project_id = ?"
        " order by age_days desc nulls last, days_in_current_state desc, task_id",
        key,
    )
    return {
        **{k: found[k] for k in ("account_id", "project_id", "project_name")},
        "window_days": days,
        "times": {k: _rounded(v) for k, v in times.items()},
        "wip_now": today[0] if today else None,
        **throughput,
        "aging": {"wip_items": len(aging), "oldest": aging[:AGING_SHOWN]},
        "as_of": reader.as_of([found["account_id"]]),
        "source": reader.release(),
    }


def _rounded(value):
    return round(value, 2) if isinstance(value, float) else value
