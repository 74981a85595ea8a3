"""fct_burndown_daily over given daily states: the ideal line's start and the projection's
arithmetic, worked out by hand."""

from datetime import date, timedelta

import pytest

from tests.models.harness import d, run_model, ts

A = "acct"
DAYS = [date(2026, 3, 1) + timedelta(days=n) for n in range(11)]  # 1 to 11 March


def states(scope_done: dict[date, tuple[int, int]]) -> list[dict]:
    rows, current = [], (0, 0)
    for day in DAYS:
        current = scope_done.get(day, current)
        scope, done = current
        rows.append(
            {
                "account_id": A,
                "project_id": "p1",
                "day_date": day,
                "scope_tasks": scope,
                "done_tasks": done,
                "todo_tasks": scope - done,
                "scope_points": 0.0,
                "done_points": 0.0,
            }
        )
    return rows


def burndown(scope_done, **project) -> dict[date, dict]:
    rows = run_model(
        "fct_burndown_daily",
        {
            "staging.stg_buildos__projects": [
                {
                    "account_id": A,
                    "project_id": "p1",
                    "created_at": ts("2026-03-01 09:00"),
                    "is_deleted": False,
                    **project,
                }
            ],
            "staging.stg_buildos__tasks": [],
            "intermediate.int_project_daily_states": states(scope_done),
            "intermediate.int_project_days": [
                {"account_id": A, "project_id": "p1", "day_date": day} for day in DAYS
            ],
        },
        {
            "staging.stg_buildos__projects": {"start_at": "timestamptz", "end_at": "timestamptz"},
            "staging.stg_buildos__tasks": {
                "account_id": "varchar",
                "project_id": "varchar",
                "created_at": "timestamptz",
                "deleted_at": "timestamptz",
            },
        },
    )
    return {row["day_date"]: row for row in rows}


def test_the_projection_divides_whole_tasks_not_rounded_rates():
    # 11 March is 10 days after the first day: 7 done (0.7 a day), scope 10 -> 13 (0.3 a day),
    # 6 left at a net 0.4 a day: exactly 15 days. 6 / (0.7 - 0.3) in doubles is 15.000000000000002,
    # which rounded up to 16.
    rows = burndown({DAYS[0]: (10, 0), DAYS[10]: (13, 7)})
    last = rows[d("2026-03-11")]
    assert (last["burn_rate"], last["scope_growth_rate"]) == (
        pytest.approx(0.7),
        pytest.approx(0.3),
    )
    assert last["projected_completion_date"] == d("2026-03-11") + timedelta(days=15)


def test_a_project_that_started_before_its_creation_draws_the_line_from_its_first_day():
    rows = burndown(
        {DAYS[0]: (4, 0)}, start_at=ts("2026-02-01 00:00"), end_at=ts("2026-03-09 00:00")
    )
    # 4 tasks on 1 March to 0 on 9 March: 0.5 a day
    assert rows[d("2026-03-01")]["ideal_remaining_tasks"] == pytest.approx(4.0)
    assert rows[d("2026-03-05")]["ideal_remaining_tasks"] == pytest.approx(2.0)
    assert rows[d("2026-03-10")]["ideal_remaining_tasks"] == 0.0
