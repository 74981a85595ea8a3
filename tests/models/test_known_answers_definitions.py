"""Known answers for the four definitions that used to bend (docs/metrics.md), worked out by
hand from a hand-written workspace before the SQL ran:

1. the ideal line of a project that started before it was created in BuildOS;
2. points when a task is re-estimated after it was done;
3. a state change that left no log, seen by the project's own 03:30 syncs;
4. the burn rate and projection at the start of a project.

The pipeline syncs at 03:30 UTC on 10, 11 and 13 March 2026 (the workspace's clock, then two
advances), so the as-of day is Friday 13 March. 2 March 2026 is a Monday.
"""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from tests.models.truth import build_from_sandbox

P1 = "00000000-0000-4000-8000-000000000101"  # backfilled: started 20 Feb, created 4 March
P2 = "00000000-0000-4000-8000-000000000102"  # a task re-estimated after it was done
P3 = "00000000-0000-4000-8000-000000000103"  # silent changes around midnight
P4 = "00000000-0000-4000-8000-000000000104"  # the first days of a project


def task(task_id: str, created: str, *changes: dict, **fields) -> dict:
    return {
        "id": task_id,
        "title": task_id,
        "created_at": created,
        "changes": list(changes),
        **fields,
    }


WORKSPACE = {
    "format": "buildos-sandbox-workspace/1",
    "now": "2026-03-10T03:30:00Z",
    "horizon": "2026-03-20T00:00:00Z",
    "accounts": [
        {
            "email": "demo@sandbox.local",
            "password": "sandbox",
            "projects": [
                {
                    "id": P1,
                    "name": "Backfilled book",
                    "state_key": "active",
                    "created_at": "2026-03-04T09:00:00Z",
                    "start_at": "2026-02-20",
                    "end_at": "2026-03-14",
                    "tasks": [
                        task("t11", "2026-03-04T09:00:00Z"),
                        task("t12", "2026-03-04T09:00:00Z"),
                    ],
                },
                {
                    "id": P2,
                    "name": "Re-estimated",
                    "state_key": "active",
                    "created_at": "2026-03-02T09:00:00Z",
                    "tasks": [
                        task(
                            "t21",
                            "2026-03-02T09:00:00Z",
                            {"at": "2026-03-05T15:00:00Z", "state_key": "done"},
                            {"at": "2026-03-12T10:00:00Z", "facet_scale": "small"},
                            facet_scale="large",
                        ),
                        task("t22", "2026-03-02T09:00:00Z", facet_scale="medium"),
                    ],
                },
                {
                    "id": P3,
                    "name": "Silent reopenings",
                    "state_key": "active",
                    "created_at": "2026-03-01T09:00:00Z",
                    "tasks": [
                        # reopened at 22:00 and retitled at 01:00, both without a log
                        task(
                            "t31",
                            "2026-03-01T09:00:00Z",
                            {"at": "2026-03-02T10:00:00Z", "state_key": "done"},
                            {"at": "2026-03-10T22:00:00Z", "state_key": "todo", "logged": False},
                            {"at": "2026-03-11T01:00:00Z", "title": "t31 again", "logged": False},
                        ),
                        # reopened at 22:00 without a log, and nothing else before the fetch
                        task(
                            "t32",
                            "2026-03-01T09:00:00Z",
                            {"at": "2026-03-02T10:00:00Z", "state_key": "done"},
                            {"at": "2026-03-10T22:00:00Z", "state_key": "todo", "logged": False},
                        ),
                    ],
                },
                {
                    "id": P4,
                    "name": "Fresh start",
                    "state_key": "active",
                    "created_at": "2026-03-01T09:00:00Z",
                    "tasks": [
                        task(
                            "t41",
                            "2026-03-01T09:00:00Z",
                            {"at": "2026-03-02T12:00:00Z", "state_key": "done"},
                        ),
                        task(
                            "t42",
                            "2026-03-01T09:00:00Z",
                            {"at": "2026-03-04T12:00:00Z", "state_key": "done"},
                        ),
                        task("t43", "2026-03-01T09:00:00Z"),
                        task("t44", "2026-03-01T09:00:00Z"),
                        task("t45", "2026-03-03T12:00:00Z"),
                    ],
                },
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("definitions")
    path = folder / "workspace.json"
    path.write_bytes(orjson.dumps(WORKSPACE))
    return build_from_sandbox(folder, workspace_file=path, advance_days=(1, 2))


def burndown(built, project_id: str, column: str) -> dict[date, object]:
    rows = built.con.execute(
        f"select day_date, {column} from marts.fct_burndown_daily where project_id = ? "
        "order by day_date",
        [project_id],
    ).fetchall()
    return dict(rows)


def test_the_as_of_is_the_last_sync(built):
    assert built.con.execute("select as_of_date from marts.dim_accounts").fetchall() == [
        (date(2026, 3, 13),)
    ]


def test_1_a_backfilled_project_draws_its_ideal_line_from_its_creation_day(built):
    ideal = burndown(built, P1, "ideal_remaining_tasks")
    # 2 tasks on 4 March, to 0 on 14 March: 10 days, 0.2 a day (not from 20 February: 0.909)
    assert min(ideal) == date(2026, 3, 4)
    assert ideal[date(2026, 3, 4)] == pytest.approx(2.0)
    assert ideal[date(2026, 3, 9)] == pytest.approx(1.0)
    assert ideal[date(2026, 3, 13)] == pytest.approx(0.2)
    # so the project is not behind on its first day
    [(behind,)] = built.con.execute(
        "select remaining_tasks > ideal_remaining_tasks from marts.fct_burndown_daily "
        "where project_id = ? and day_date = date '2026-03-04'",
        [P1],
    ).fetchall()
    assert behind is False


def test_2_a_re_estimate_is_a_scope_change_on_its_day_and_never_rewrites_the_past(built):
    [(tasks, points)] = built.con.execute(
        "select tasks_completed, points_completed from marts.fct_velocity_weekly "
        "where project_id = ? and week_start = date '2026-03-02'",
        [P2],
    ).fetchall()
    # t21 was large (5) when it was done on Thursday 5 March; re-scaled to small (2) on the 12th
    assert (tasks, points) == (1, 5.0)
    scope, done = burndown(built, P2, "scope_points"), burndown(built, P2, "completed_points")
    # t22 is medium (3) throughout
    assert scope[date(2026, 3, 4)] == 5 + 3 and done[date(2026, 3, 4)] == 0
    assert scope[date(2026, 3, 5)] == 5 + 3 and done[date(2026, 3, 5)] == 5
    assert scope[date(2026, 3, 11)] == 5 + 3 and done[date(2026, 3, 11)] == 5
    assert scope[date(2026, 3, 12)] == 2 + 3 and done[date(2026, 3, 12)] == 2
    intervals = built.con.execute(
        "select facet_scale, effort_weight, valid_from, valid_to "
        "from intermediate.int_task_effort_intervals where task_id = 't21' order by valid_from"
    ).fetchall()
    assert [(scale, weight, start.isoformat()) for scale, weight, start, _ in intervals] == [
        ("large", 5.0, "2026-03-02T09:00:00+00:00"),
        ("small", 2.0, "2026-03-12T10:00:00+00:00"),
    ]


def test_3_an_unlogged_change_is_dated_by_the_first_version_that_shows_it(built):
    states = dict(
        built.con.execute(
            "select task_id || ' ' || strftime(day_date, '%d'), task_state "
            "from intermediate.int_task_days where project_id = ? "
            "and day_date between date '2026-03-09' and date '2026-03-11'",
            [P3],
        ).fetchall()
    )
    # t32: its reopening was its latest change when the 11 March 03:30 sync fetched it, so
    # updated_at dates it exactly (22:00 on the 10th): the 10th ends todo, as it truly did
    assert [states[f"t32 {d}"] for d in ("09", "10", "11")] == ["done", "todo", "todo"]
    # t31: the silent retitle at 01:00 moved updated_at past midnight before the fetch, so the
    # reopening is dated 01:00 on the 11th and the 10th shows it done (in truth: todo). This
    # is the limit docs/metrics.md states: a day's end is exact unless, between the change
    # and the next fetch, a later change pushed updated_at past that midnight.
    assert [states[f"t31 {d}"] for d in ("09", "10", "11")] == ["done", "done", "todo"]
    [(evidence, start)] = built.con.execute(
        "select evidence, valid_from from intermediate.int_task_state_intervals "
        "where task_id = 't31' and task_state = 'todo' and valid_from > timestamptz '2026-03-05'"
    ).fetchall()
    assert (evidence, start.isoformat()) == ("history", "2026-03-11T01:00:00+00:00")


def test_4_the_burn_rate_runs_from_the_first_day_until_there_are_14_days(built):
    rows = built.con.execute(
        "select day_date, scope_tasks, completed_tasks, burn_rate, scope_growth_rate, "
        "projected_completion_date from marts.fct_burndown_daily where project_id = ? "
        "order by day_date",
        [P4],
    ).fetchall()
    by_day = {row[0]: row[1:] for row in rows}
    # 1 March, the first day (4 tasks, none done): no window yet, so no rate and no projection
    assert by_day[date(2026, 3, 1)] == (4, 0, None, None, None)
    # 2 March: 1 day since the first; 1 done (1 a day), scope unchanged; 3 left: 3 days
    assert by_day[date(2026, 3, 2)] == (4, 1, 1.0, 0.0, date(2026, 3, 5))
    # 3 March: 2 days; 1 done (0.5 a day), scope 4 -> 5 (0.5 a day): net 0, no projection
    assert by_day[date(2026, 3, 3)] == (5, 1, 0.5, 0.5, None)
    # 4 March: 3 days; 2 done (2/3 a day), scope +1 (1/3 a day); 3 left at a net 1/3 a day:
    # 9 days, to 13 March
    scope, done, burn, growth, projected = by_day[date(2026, 3, 4)]
    assert (scope, done, projected) == (5, 2, date(2026, 3, 13))
    assert (burn, growth) == (pytest.approx(2 / 3), pytest.approx(1 / 3))
