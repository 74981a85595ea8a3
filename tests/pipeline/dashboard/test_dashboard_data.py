"""dashboard_data on a few given bi rows: each number is the views' own, selected and summed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline.dashboard import dashboard_data
from pipeline.models import load_models
from tests.pipeline.dashboard.bi_tables import BI_COLUMNS, bi_database

AS_OF = date(2021, 3, 10)  # a Wednesday, years before any machine clock running this
ACCOUNTS = [{"account_id": a, "as_of_date": AS_OF} for a in ("a", "b")]
THIS_WEEK = date(2021, 3, 8)
LAST_WEEK = date(2021, 3, 1)


def week(monday: date, account: str, project: str, done: int, avg: float | None = None) -> dict:
    return {
        "account_id": account,
        "project_id": project,
        "week_start": monday,
        "tasks_completed": done,
        "tasks_completed_avg_3w": avg,  # the mart's own, which the dashboard no longer reads
    }


def done(account: str, task: str, at: datetime) -> dict:
    return {"account_id": account, "project_id": "p", "task_id": task, "completed_at": at}


def risk(account: str, project: str, at_risk: bool, **extra) -> dict:
    return {
        "account_id": account,
        "project_id": project,
        "project_name": extra.pop("project_name", project),
        "project_state": "active",
        "as_of_date": AS_OF,
        "is_at_risk": at_risk,
        "risk_status": "at risk" if at_risk else "on track",
        "risk_reasons": ["blocked work"] if at_risk else [],
        **extra,
    }


def project(account: str, project_id: str, state: str, deleted: bool = False, **extra) -> dict:
    return {
        "account_id": account,
        "project_id": project_id,
        "project_name": extra.get("name", project_id),
        "project_state": state,
        "is_deleted": deleted,
    }


@pytest.fixture
def portfolio():
    con = bi_database(
        dim_accounts=[
            {"account_id": "a", "as_of_date": AS_OF},
            {"account_id": "b", "as_of_date": AS_OF - timedelta(days=1)},
        ],
        dim_projects=[
            project("a", "a1", "active"),
            project("a", "a2", "active", deleted=True),
            project("a", "a3", "paused"),
            project("b", "b1", "active"),
            project("b", "b2", "planning"),
        ],
        fct_project_completion=[
            {"account_id": "a", "project_id": "a1", "live_tasks": 10, "done_tasks": 4},
            {"account_id": "a", "project_id": "a3", "live_tasks": 6, "done_tasks": 6},
            {"account_id": "b", "project_id": "b1", "live_tasks": 4, "done_tasks": 0},
            {"account_id": "b", "project_id": "b2", "live_tasks": 0, "done_tasks": 0},
        ],
        fct_project_risk=[
            risk("a", "a1", True, remaining_tasks=6, ideal_remaining_tasks=2.5),
            risk("a", "a3", False),
            risk("b", "b1", True, remaining_tasks=4, missed_milestones=1),
            risk("b", "b2", False),
        ],
        fct_velocity_weekly=[
            week(THIS_WEEK, "a", "a1", 3, 5.0),
            week(LAST_WEEK, "a", "a1", 5, 6.0),
            week(LAST_WEEK - timedelta(weeks=1), "a", "a1", 7, 7.0),
            week(THIS_WEEK, "b", "b1", 2, 1.5),
            week(LAST_WEEK, "b", "b1", 1, 1.0),
        ],
    )
    yield con
    con.close()


def test_kpis_sum_the_views_over_accounts(portfolio):
    kpis = dashboard_data(portfolio)["kpis"]
    assert kpis["active_projects"] == 2  # a1 and b1: a2 is deleted, a3 paused, b2 planning
    assert (kpis["done_tasks"], kpis["live_tasks"]) == (10, 20)
    assert kpis["completion_pct"] == pytest.approx(50.0)  # sum done / sum live, not a mean
    assert kpis["live_projects"] == 4
    assert (kpis["at_risk_projects"], kpis["assessed_projects"]) == (2, 4)


def test_this_week_is_the_week_of_the_as_of_date_not_the_clock(portfolio):
    data = dashboard_data(portfolio)
    assert data["as_of_date"] == AS_OF
    assert (data["this_week_start"], data["last_week_start"]) == (THIS_WEEK, LAST_WEEK)
    assert data["kpis"]["completed_last_week"] == 5 + 1


def test_one_account_sees_only_its_rows(portfolio):
    data = dashboard_data(portfolio, account_id="a")
    kpis = data["kpis"]
    assert kpis["active_projects"] == 1
    assert (kpis["done_tasks"], kpis["live_tasks"]) == (10, 16)
    assert kpis["at_risk_projects"] == 1
    assert kpis["completed_last_week"] == 5
    assert [row["project_id"] for row in data["at_risk"]] == ["a1"]
    assert data["accounts"] == 1


def test_the_as_of_day_is_the_accounts_own_not_the_last_row_of_a_view():
    con = bi_database(
        dim_accounts=[{"account_id": "a", "as_of_date": date(2020, 6, 10)}],
        fct_velocity_weekly=[
            week(date(2020, 6, 1), "a", "p", 4),
            week(date(2020, 6, 8), "a", "p", 9),
        ],
    )
    data = dashboard_data(con)
    assert data["as_of_date"] == date(2020, 6, 10)
    assert data["kpis"]["completed_last_week"] == 4


def test_a_week_without_rows_counts_zero(portfolio):
    portfolio.execute("delete from bi.fct_velocity_weekly where week_start = ?", [LAST_WEEK])
    assert dashboard_data(portfolio)["kpis"]["completed_last_week"] == 0


def test_velocity_trend_is_the_last_12_weeks_summed_over_projects_averaged_over_complete_weeks():
    weeks = [THIS_WEEK - timedelta(weeks=i) for i in range(14)]
    con = bi_database(
        dim_accounts=ACCOUNTS,
        fct_project_risk=[risk("a", "p", False), risk("a", "q", False)],
        fct_velocity_weekly=[week(w, "a", "p", i, i + 0.5) for i, w in enumerate(weeks)]
        + [week(w, "a", "q", 10, 2.0) for w in weeks],
    )
    data = dashboard_data(con)
    trend = data["velocity"]
    assert [row["week_start"] for row in trend] == sorted(weeks[:12])
    newest = trend[-1]  # the as-of week, still running (Wednesday): no average
    assert (newest["tasks_completed"], newest["is_complete"]) == (10, False)
    assert newest["average_complete_weeks"] is None
    # last week 11, the week before 12, and 13: the mean of the 3 complete weeks
    assert trend[-2]["average_complete_weeks"] == pytest.approx(12.0)
    assert data["kpis"]["average_complete_weeks"] == pytest.approx(12.0)
    oldest = trend[0]  # 11 weeks ago: 21, with 22 and 23 before it
    assert (oldest["tasks_completed"], oldest["average_complete_weeks"]) == (21, 22.0)


def test_week_to_date_compares_the_same_stretch_of_last_week_on_a_monday():
    monday = datetime(2021, 3, 8, 3, 30, tzinfo=UTC)
    con = bi_database(
        dim_accounts=[
            {"account_id": "a", "as_of_date": monday.date(), "as_of_at": monday},
        ],
        fct_task_flow=[
            done("a", "t1", datetime(2021, 3, 8, 1, 0, tzinfo=UTC)),  # this Monday, counts
            done("a", "t2", datetime(2021, 3, 1, 2, 0, tzinfo=UTC)),  # last Monday 02:00
            done("a", "t3", datetime(2021, 3, 1, 3, 29, tzinfo=UTC)),  # last Monday 03:29
            done("a", "t4", datetime(2021, 3, 1, 3, 30, tzinfo=UTC)),  # after the stretch
            done("a", "t5", datetime(2021, 3, 5, 12, 0, tzinfo=UTC)),  # last Friday
            done("a", "t6", datetime(2021, 2, 28, 23, 0, tzinfo=UTC)),  # the week before
        ],
        fct_velocity_weekly=[
            week(date(2021, 3, 1), "a", "p", 3),
            week(date(2021, 3, 8), "a", "p", 1),
        ],
    )
    kpis = dashboard_data(con)["kpis"]
    assert kpis["completed_this_week"] == 1
    assert kpis["completed_same_days_last_week"] == 2
    assert kpis["completed_last_week"] == 3


def test_week_to_date_uses_each_accounts_own_as_of():
    con = bi_database(
        dim_accounts=[
            {
                "account_id": "a",
                "as_of_date": AS_OF,
                "as_of_at": datetime(2021, 3, 10, 12, tzinfo=UTC),
            },
            {
                "account_id": "b",
                "as_of_date": AS_OF,
                "as_of_at": datetime(2021, 3, 10, 6, tzinfo=UTC),
            },
        ],
        fct_task_flow=[
            done("a", "t1", datetime(2021, 3, 10, 10, tzinfo=UTC)),
            done("b", "t1", datetime(2021, 3, 10, 10, tzinfo=UTC)),  # after b's as-of
            done("a", "t2", datetime(2021, 3, 3, 11, tzinfo=UTC)),
            done("b", "t2", datetime(2021, 3, 3, 11, tzinfo=UTC)),  # after b's stretch
        ],
    )
    kpis = dashboard_data(con)["kpis"]
    assert (kpis["completed_this_week"], kpis["completed_same_days_last_week"]) == (1, 1)


def burndown_day(project_id: str, day: date, remaining: int, **extra) -> dict:
    return {
        "account_id": "a",
        "project_id": project_id,
        "day_date": day,
        "scope_tasks": remaining + 10,
        "completed_tasks": 10,
        "remaining_tasks": remaining,
        **extra,
    }


def test_burndown_shows_the_four_projects_that_completed_most_in_the_last_4_weeks():
    window = [THIS_WEEK - timedelta(weeks=i) for i in range(4)]
    before = THIS_WEEK - timedelta(weeks=4)
    con = bi_database(
        dim_accounts=ACCOUNTS,
        dim_projects=[
            project("a", "p1", "active", name="Echo"),
            project("a", "p2", "active", name="Bravo"),
            project("a", "p3", "active", name="Charlie"),
            project("a", "p4", "active", name="Delta"),
            project("a", "p5", "active", name="Alpha"),
            project("a", "p6", "active", name="Foxtrot"),
        ],
        fct_project_risk=[
            risk("a", "p1", False, end_date=date(2021, 4, 1)),
            *(risk("a", p, False) for p in ("p2", "p3", "p4", "p5", "p6")),
        ],
        fct_velocity_weekly=[
            week(window[0], "a", "p1", 10),
            week(window[3], "a", "p2", 4),
            week(window[1], "a", "p2", 4),
            week(before, "a", "p3", 30),  # busy long ago: outside the 4 weeks
            week(window[0], "a", "p3", 1),
            week(window[2], "a", "p4", 5),
            week(window[0], "a", "p5", 5),  # ties with p4: by name, Alpha first
            week(window[0], "a", "p6", 0),
        ],
        fct_burndown_daily=[
            burndown_day("p1", AS_OF - timedelta(days=200), 40),  # the creation day
            burndown_day("p1", AS_OF - timedelta(days=1), 9, ideal_remaining_tasks=7.5),
            burndown_day(
                "p1",
                AS_OF,
                8,
                ideal_remaining_tasks=7.0,
                projected_completion_date=date(2021, 3, 20),
            ),
        ],
    )
    top = dashboard_data(con)["burndown"]
    assert [(p["project_id"], p["tasks_completed_recently"]) for p in top] == [
        ("p1", 10),
        ("p2", 8),
        ("p5", 5),
        ("p4", 5),
    ]
    echo = top[0]
    assert echo["project_name"] == "Echo"
    # from its creation (a window of recent days hid how the project began)
    assert [d["day_date"] for d in echo["days"]] == [
        AS_OF - timedelta(days=200),
        AS_OF - timedelta(days=1),
        AS_OF,
    ]
    # the ideal continues from today's 7.0 to 0 on the end date; one task scale for all
    assert echo["ideal_to_end"] == [(AS_OF, 7.0), (date(2021, 4, 1), 0.0)]
    assert {p["y_top"] for p in top} == {max(row["scope_tasks"] for row in echo["days"])}
    assert echo["projected_completion_date"] == date(2021, 3, 20)
    assert (echo["remaining_tasks"], echo["scope_tasks"]) == (8, 18)
    assert echo["ideal_remaining_tasks"] == 7.0
    assert echo["end_date"] == date(2021, 4, 1)
    assert top[1]["days"] == [] and top[1]["projected_completion_date"] is None


def test_at_risk_table_lists_only_at_risk_projects_most_reasons_first():
    con = bi_database(
        dim_accounts=ACCOUNTS,
        fct_project_risk=[
            risk("a", "calm", False, remaining_tasks=50),
            risk("a", "one", True, remaining_tasks=3, blocked_tasks=2),
            risk(
                "a",
                "two",
                True,
                remaining_tasks=1,
                ideal_remaining_tasks=0.0,
                missed_milestones=1,
                risk_reasons=["behind the ideal burndown", "missed milestones"],
            ),
        ],
    )
    rows = dashboard_data(con)["at_risk"]
    assert [row["project_id"] for row in rows] == ["two", "one"]
    assert rows[0]["risk_reasons"] == ["behind the ideal burndown", "missed milestones"]
    assert (rows[1]["remaining_tasks"], rows[1]["blocked_tasks"]) == (3, 2)


def test_brain_dumps_cover_the_last_8_weeks_with_the_processed_rate():
    def day(account: str, when: date, created: int, processed: int, failed: int) -> dict:
        return {
            "account_id": account,
            "day_date": when,
            "braindumps_created": created,
            "braindumps_processed": processed,
            "braindumps_failed": failed,
            "braindumps_pending": created - processed - failed,
        }

    con = bi_database(
        dim_accounts=ACCOUNTS,
        fct_project_risk=[risk("a", "p", False)],
        fct_braindumps_daily=[
            day("a", AS_OF - timedelta(days=56), 50, 0, 50),  # 8 weeks and a day ago
            day("a", AS_OF - timedelta(days=55), 4, 3, 1),
            day("b", AS_OF - timedelta(days=55), 2, 2, 0),
            day("a", AS_OF, 4, 1, 0),
        ],
    )
    dumps = dashboard_data(con)["braindumps"]
    assert [d["day_date"] for d in dumps["days"]] == [AS_OF - timedelta(days=55), AS_OF]
    assert dumps["days"][0]["created"] == 6
    assert (dumps["created"], dumps["processed"], dumps["failed"], dumps["pending"]) == (
        10,
        6,
        1,
        3,
    )
    assert dumps["processed_rate"] == pytest.approx(0.6)
    assert (dumps["first_day"], dumps["last_day"]) == (AS_OF - timedelta(days=55), AS_OF)


def test_empty_views_give_zeros_and_empty_series():
    data = dashboard_data(bi_database())
    assert data["as_of_date"] is None
    kpis = data["kpis"]
    assert kpis["completion_pct"] is None
    assert kpis["active_projects"] == kpis["at_risk_projects"] == 0
    assert kpis["completed_this_week"] == kpis["completed_last_week"] == 0
    assert data["velocity"] == data["burndown"] == data["at_risk"] == []
    assert data["braindumps"]["days"] == [] and data["braindumps"]["processed_rate"] is None


def test_reads_only_columns_the_marts_publish():
    published = {m.name: set(m.columns) for m in load_models() if m.layer == "marts"}
    for table, columns in BI_COLUMNS.items():
        assert set(columns) <= published[table], (table, set(columns) - published[table])


def test_names_that_repeat_across_accounts_carry_the_account_label():
    con = bi_database(
        dim_accounts=[
            {"account_id": "acct-1111-2222", "as_of_date": AS_OF},
            {"account_id": "acct-3333-4444", "as_of_date": AS_OF},
        ],
        dim_projects=[
            project("acct-1111-2222", "p1", "active", name="Launch"),
            project("acct-3333-4444", "p2", "active", name="Launch"),
            project("acct-3333-4444", "p3", "active", name="Hiring"),
        ],
        fct_project_risk=[
            risk("acct-1111-2222", "p1", True, project_name="Launch"),
            risk("acct-3333-4444", "p2", True, project_name="Launch"),
            risk("acct-3333-4444", "p3", True, project_name="Hiring"),
        ],
    )
    names = sorted(row["display_name"] for row in dashboard_data(con)["at_risk"])
    # no account_label column yet: the first 8 characters of the id
    assert names == ["Hiring", "Launch · acct-111", "Launch · acct-333"]
    con.execute("alter table bi.dim_accounts add column account_label varchar")
    con.execute("update bi.dim_accounts set account_label = 'Acme' where account_id like '%1111%'")
    data = dashboard_data(con)
    assert data["account_labels"] == {"acct-1111-2222": "Acme", "acct-3333-4444": "acct-333"}
    assert sorted(row["display_name"] for row in data["at_risk"]) == [
        "Hiring",
        "Launch · Acme",
        "Launch · acct-333",
    ]
    one = dashboard_data(con, account_id="acct-3333-4444")  # one account: nothing repeats
    assert sorted(row["display_name"] for row in one["at_risk"]) == ["Hiring", "Launch"]


def test_flow_counts_the_last_28_days_with_cycle_time_percentiles_and_wip_age():
    def task(i: int, day: date, cycle: float | None) -> dict:
        at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        return {
            "account_id": "a",
            "project_id": "p",
            "task_id": f"t{i}",
            "completed_at": at,
            "completed_date": day,
            "cycle_time_days": cycle,
        }

    con = bi_database(
        dim_accounts=[{"account_id": "a", "as_of_date": AS_OF}],
        fct_task_flow=[
            task(1, AS_OF, 1.0),
            task(2, AS_OF - timedelta(days=27), 3.0),  # the first day of the 28
            task(3, AS_OF - timedelta(days=28), 50.0),  # one day too early
            task(4, AS_OF - timedelta(days=3), None),  # never in progress: no cycle time
            task(5, AS_OF - timedelta(days=5), 5.0),
        ],
        fct_wip_aging=[
            {"account_id": "a", "project_id": "p", "task_id": "w1", "age_days": 2.0},
            {"account_id": "a", "project_id": "p", "task_id": "w2", "age_days": 20.0},
            {"account_id": "a", "project_id": "p", "task_id": "w3", "age_days": None},
        ],
    )
    flow = dashboard_data(con)["flow"]
    assert flow["throughput"] == 4
    assert flow["throughput_per_week"] == pytest.approx(1.0)
    assert flow["cycle_timed_tasks"] == 3
    assert flow["cycle_time_p50_days"] == pytest.approx(3.0)  # of 1, 3, 5
    assert flow["cycle_time_p85_days"] == pytest.approx(4.4)  # 3 + 0.7 x (5 - 3)
    assert (flow["wip_tasks"], flow["wip_aged_tasks"]) == (3, 2)
    assert flow["wip_age_p50_days"] == pytest.approx(11.0)
    assert (flow["wip_oldest_days"], flow["wip_older_than_stale"]) == (20.0, 1)
