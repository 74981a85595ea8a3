"""fct_task_flow: lead and cycle time, blocked time and reopens of each completed task."""

from tests.models.harness import d, run_model, ts

A = "acct"
AS_OF = {"account_id": A, "as_of_at": ts("2026-03-10 00:00"), "as_of_date": d("2026-03-09")}
TYPES = {
    "staging.stg_buildos__tasks": {"completed_at": "timestamptz", "created_at": "timestamptz"},
    "intermediate.int_task_state_intervals": {
        "valid_from": "timestamptz",
        "valid_to": "timestamptz",
    },
    "intermediate.int_account_as_of": {"as_of_at": "timestamptz"},
}
PROJECTS = [
    {"account_id": A, "project_id": "p1", "is_deleted": False},
    {"account_id": A, "project_id": "gone", "is_deleted": True},
]


def task(task_id, state, created, completed=None, project="p1", deleted=False):
    return {
        "account_id": A,
        "project_id": project,
        "task_id": task_id,
        "task_state": state,
        "created_at": ts(created),
        "completed_at": ts(completed) if completed else None,
        "is_deleted": deleted,
    }


def history(task_id, *steps, deleted_at=None):
    """Intervals from (state, from) steps; the last one stays open (or ends at deleted_at)."""
    rows = []
    for number, (state, start) in enumerate(steps):
        end = steps[number + 1][1] if number + 1 < len(steps) else deleted_at
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


def flow(tasks, intervals, projects=PROJECTS):
    rows = run_model(
        "fct_task_flow",
        {
            "staging.stg_buildos__projects": projects,
            "staging.stg_buildos__tasks": tasks,
            "intermediate.int_task_state_intervals": intervals,
            "intermediate.int_account_as_of": [AS_OF],
        },
        TYPES,
        order_by="task_id",
    )
    return {row["task_id"]: row for row in rows}


def test_a_reopened_task_counts_its_reopen_and_its_final_completion_only():
    rows = flow(
        [task("t1", "done", "2026-03-01 09:00", "2026-03-07 09:00")],
        history(
            "t1",
            ("todo", "2026-03-01 09:00"),
            ("in_progress", "2026-03-02 09:00"),
            ("done", "2026-03-03 09:00"),
            ("todo", "2026-03-04 09:00"),
            ("in_progress", "2026-03-05 09:00"),
            ("done", "2026-03-07 09:00"),
        ),
    )
    assert list(rows) == ["t1"]
    row = rows["t1"]
    assert row["first_started_at"] == ts("2026-03-02 09:00")
    assert row["completed_at"] == ts("2026-03-07 09:00")
    assert row["lead_time_days"] == 6.0
    assert row["cycle_time_days"] == 5.0
    assert row["times_reopened"] == 1
    assert row["blocked_days"] == 0.0
    assert row["completed_date"] == d("2026-03-07")
    assert row["completed_week_start"] == d("2026-03-02")


def test_a_task_never_started_has_no_cycle_time():
    rows = flow(
        [task("t1", "done", "2026-03-01 09:00", "2026-03-01 21:00")],
        history("t1", ("todo", "2026-03-01 09:00"), ("done", "2026-03-01 21:00")),
    )
    row = rows["t1"]
    assert row["first_started_at"] is None
    assert row["cycle_time_days"] is None
    assert row["lead_time_days"] == 0.5
    assert (row["blocked_days"], row["times_reopened"]) == (0.0, 0)


def test_blocked_time_is_summed_over_every_blocked_stretch():
    rows = flow(
        [task("t1", "done", "2026-03-01 00:00", "2026-03-08 00:00")],
        history(
            "t1",
            ("todo", "2026-03-01 00:00"),
            ("in_progress", "2026-03-02 00:00"),
            ("blocked", "2026-03-03 00:00"),
            ("in_progress", "2026-03-03 12:00"),
            ("blocked", "2026-03-05 00:00"),
            ("in_progress", "2026-03-07 00:00"),
            ("done", "2026-03-08 00:00"),
        ),
    )
    assert rows["t1"]["blocked_days"] == 2.5
    assert rows["t1"]["cycle_time_days"] == 6.0


def test_a_completion_on_sunday_belongs_to_the_week_that_began_monday():
    rows = flow(
        [task("t1", "done", "2026-03-02 00:00", "2026-03-08 23:59")],
        history("t1", ("todo", "2026-03-02 00:00"), ("done", "2026-03-08 23:59")),
    )
    assert rows["t1"]["completed_date"] == d("2026-03-08")
    assert rows["t1"]["completed_week_start"] == d("2026-03-02")


def test_only_live_tasks_done_now_in_live_projects_count():
    tasks = [
        task("doing", "in_progress", "2026-03-01 00:00"),
        task("deleted", "done", "2026-03-01 00:00", "2026-03-02 00:00", deleted=True),
        task("elsewhere", "done", "2026-03-01 00:00", "2026-03-02 00:00", project="gone"),
        task("kept", "done", "2026-03-01 00:00", "2026-03-02 00:00"),
    ]
    intervals = [
        *history("doing", ("todo", "2026-03-01 00:00"), ("in_progress", "2026-03-02 00:00")),
        *history(
            "deleted",
            ("todo", "2026-03-01 00:00"),
            ("done", "2026-03-02 00:00"),
            deleted_at="2026-03-03 00:00",
        ),
        *history("elsewhere", ("todo", "2026-03-01 00:00"), ("done", "2026-03-02 00:00")),
        *history("kept", ("todo", "2026-03-01 00:00"), ("done", "2026-03-02 00:00")),
    ]
    assert list(flow(tasks, intervals)) == ["kept"]
