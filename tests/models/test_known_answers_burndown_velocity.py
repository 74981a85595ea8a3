"""A hand-written workspace with known answers for burndown and velocity, worked out by hand:
scope added mid-project, a reopened task, a deleted task, a re-dated task, and a completion
that left no log. The clock is 2026-03-10 00:00 UTC; 2026-03-02 is a Monday."""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from tests.models.truth import build_from_sandbox

WORKSPACE = {
    "format": "buildos-sandbox-workspace/1",
    "now": "2026-03-10T00:00:00Z",
    "accounts": [
        {
            "email": "demo@sandbox.local",
            "password": "sandbox",
            "projects": [
                {
                    "name": "Launch the podcast",
                    "state_key": "active",
                    "created_at": "2026-03-01T09:00:00Z",
                    "start_at": "2026-03-01",
                    "end_at": "2026-03-09",
                    "tasks": [
                        {
                            "id": "t1",
                            "title": "Record episode 1",
                            "facet_scale": "small",
                            "created_at": "2026-03-01T09:00:00Z",
                            "changes": [
                                {"at": "2026-03-02T10:00:00Z", "state_key": "in_progress"},
                                {"at": "2026-03-04T16:00:00Z", "state_key": "done"},
                            ],
                        },
                        {
                            "id": "t2",
                            "title": "Edit episode 1",
                            "facet_scale": "medium",
                            "created_at": "2026-03-01T09:00:00Z",
                            "changes": [
                                {"at": "2026-03-03T12:00:00Z", "state_key": "done"},
                                {"at": "2026-03-05T09:00:00Z", "state_key": "todo"},
                                {"at": "2026-03-08T15:00:00Z", "state_key": "done"},
                            ],
                        },
                        {
                            "id": "t3",
                            "title": "Book a studio",
                            "created_at": "2026-03-01T09:00:00Z",
                            "changes": [{"at": "2026-03-06T10:00:00Z", "deleted": True}],
                        },
                        {
                            "id": "t4",
                            "title": "Design the cover",
                            "facet_scale": "large",
                            "created_at": "2026-03-05T11:00:00Z",
                            "changes": [
                                {"at": "2026-03-09T10:00:00Z", "state_key": "done", "logged": False}
                            ],
                        },
                        {
                            "id": "t5",
                            "title": "Write show notes",
                            "created_at": "2026-03-02T08:00:00Z",
                            "due_at": "2026-03-06T17:00:00Z",
                            "changes": [
                                {"at": "2026-03-04T09:00:00Z", "due_at": "2026-03-12T17:00:00Z"}
                            ],
                        },
                    ],
                }
            ],
        }
    ],
}

# day: (scope, completed, added, removed)
BURNDOWN = {
    date(2026, 3, 1): (3, 0, 3, 0),  # t1, t2, t3 created
    date(2026, 3, 2): (4, 0, 1, 0),  # t5 added
    date(2026, 3, 3): (4, 1, 0, 0),  # t2 done
    date(2026, 3, 4): (4, 2, 0, 0),  # t1 done
    date(2026, 3, 5): (5, 1, 1, 0),  # t2 reopened, t4 added mid-project
    date(2026, 3, 6): (4, 1, 0, 1),  # t3 deleted
    date(2026, 3, 7): (4, 1, 0, 0),
    date(2026, 3, 8): (4, 2, 0, 0),  # t2 done again
    date(2026, 3, 9): (4, 3, 0, 0),  # t4 done, with no log
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("known")
    path = folder / "workspace.json"
    path.write_bytes(orjson.dumps(WORKSPACE))
    return build_from_sandbox(folder, workspace_file=path)


def test_burndown_day_by_day(built):
    rows = built.con.execute(
        "select day_date, scope_tasks, completed_tasks, added_tasks, removed_tasks, "
        "remaining_tasks, ideal_remaining_tasks from marts.fct_burndown_daily order by 1"
    ).fetchall()
    assert {r[0]: r[1:5] for r in rows} == BURNDOWN
    for day, _scope, _done, _added, _removed, remaining, ideal in rows:
        assert remaining == BURNDOWN[day][0] - BURNDOWN[day][1]
        # from the 3 tasks in scope on the start day (1 March) to 0 on the end date (9 March)
        assert ideal == pytest.approx(3 * (9 - day.day) / 8)


def test_effort_points_and_projection_on_the_last_day(built):
    [(scope_points, completed_points, burn, growth, projected)] = built.con.execute(
        "select scope_points, completed_points, burn_rate, scope_growth_rate, "
        "projected_completion_date from marts.fct_burndown_daily "
        "where day_date = date '2026-03-09'"
    ).fetchall()
    assert scope_points == 2 + 3 + 5  # small t1, medium t2, large t4; t5 has no scale
    assert completed_points == 10
    # 8 days since the first day: 3 completed (burn 3/8 a day), scope grew 3 -> 4 (1/8 a day);
    # 1 task left at a net 1/4 a day: 4 days.
    assert burn == pytest.approx(3 / 8)
    assert growth == pytest.approx(1 / 8)
    assert projected == date(2026, 3, 13)


def test_velocity_counts_each_final_completion_once(built):
    rows = built.con.execute(
        "select week_start, tasks_completed, points_completed, unscaled_tasks_completed, "
        "tasks_completed_avg_3w from marts.fct_velocity_weekly order by 1"
    ).fetchall()
    assert rows == [
        (date(2026, 2, 23), 0, 0.0, 0, 0.0),  # the project was created on Sunday 1 March
        (date(2026, 3, 2), 2, 5.0, 0, 1.0),  # t1; t2 at its final completion (Sunday 8th)
        (date(2026, 3, 9), 1, 5.0, 0, 1.0),  # t4, whose completion left no log
    ]
