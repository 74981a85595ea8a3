"""fct_wip_aging: each task in progress or blocked now, its age and time in its state."""

from tests.models.harness import d, run_model, ts

A = "acct"
AS_OF = {"account_id": A, "as_of_at": ts("2026-03-10 12:00"), "as_of_date": d("2026-03-10")}
TYPES = {"intermediate.int_task_state_intervals": {"valid_to": "timestamptz"}}


def task(task_id, state, project="p1", deleted=False):
    return {
        "account_id": A,
        "project_id": project,
        "task_id": task_id,
        "task_state": state,
        "is_deleted": deleted,
    }


def history(task_id, *steps):
    rows = []
    for number, (state, start) in enumerate(steps):
        end = steps[number + 1][1] if number + 1 < len(steps) else None
        rows.append(
            {
                "account_id": A,
                "project_id": "p1",
                "task_id": task_id,
                "task_state": state,
                "valid_from": ts(start),
                "valid_to": ts(end) if end else None,
            }
        )
    return rows


def aging(tasks, intervals):
    rows = run_model(
        "fct_wip_aging",
        {
            "staging.stg_buildos__projects": [
                {"account_id": A, "project_id": "p1", "is_deleted": False},
                {"account_id": A, "project_id": "gone", "is_deleted": True},
            ],
            "staging.stg_buildos__tasks": tasks,
            "intermediate.int_task_state_intervals": intervals,
            "intermediate.int_account_as_of": [AS_OF],
        },
        TYPES,
        order_by="task_id",
    )
    return {row["task_id"]: row for row in rows}


def test_age_runs_from_the_first_start_and_state_time_from_the_last_change():
    rows = aging(
        [task("doing", "in_progress"), task("stuck", "blocked")],
        [
            *history("doing", ("todo", "2026-03-01 12:00"), ("in_progress", "2026-03-08 00:00")),
            *history(
                "stuck",
                ("todo", "2026-03-01 12:00"),
                ("in_progress", "2026-03-02 12:00"),
                ("blocked", "2026-03-04 12:00"),
                ("in_progress", "2026-03-05 12:00"),
                ("blocked", "2026-03-09 12:00"),
            ),
        ],
    )
    assert {
        k: (r["task_state"], r["age_days"], r["days_in_current_state"]) for k, r in rows.items()
    } == {
        "doing": ("in_progress", 2.5, 2.5),
        "stuck": ("blocked", 8.0, 1.0),
    }
    assert rows["stuck"]["first_started_at"] == ts("2026-03-02 12:00")
    assert rows["stuck"]["current_state_since_at"] == ts("2026-03-09 12:00")


def test_a_task_blocked_before_it_ever_started_has_no_age():
    rows = aging(
        [task("waiting", "blocked")],
        history("waiting", ("todo", "2026-03-01 12:00"), ("blocked", "2026-03-10 00:00")),
    )
    assert rows["waiting"]["age_days"] is None
    assert rows["waiting"]["days_in_current_state"] == 0.5


def test_only_live_work_in_progress_counts():
    rows = aging(
        [
            task("todo", "todo"),
            task("done", "done"),
            task("deleted", "in_progress", deleted=True),
            task("elsewhere", "in_progress", project="gone"),
        ],
        [
            *history("todo", ("todo", "2026-03-01 12:00")),
            *history("done", ("todo", "2026-03-01 12:00"), ("done", "2026-03-02 12:00")),
            *history("deleted", ("in_progress", "2026-03-01 12:00")),
            *history("elsewhere", ("in_progress", "2026-03-01 12:00")),
        ],
    )
    assert rows == {}
