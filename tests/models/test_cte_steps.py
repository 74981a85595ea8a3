"""The steps where a rule lives, tested as sqlmesh tests CTEs: given rows in, the rows of one
CTE out. State precedence in int_task_state_intervals; the change-point deltas and their running
sums in int_project_daily_states."""

from tests.models.harness import d, run_model, ts

A = "acct"
AS_OF = {"account_id": A, "as_of_at": ts("2026-03-05 12:00"), "as_of_date": d("2026-03-05")}
TASK = {
    "account_id": A,
    "project_id": "p1",
    "task_id": "t1",
    "task_state": "done",
    "created_at": ts("2026-03-01 09:00"),
    "updated_at": ts("2026-03-03 10:00"),
    "completed_at": ts("2026-03-03 10:00"),
    "deleted_at": None,
}
STATE_TYPES = {
    "staging.stg_buildos__tasks": {"deleted_at": "timestamptz", "completed_at": "timestamptz"},
    "staging.stg_buildos__task_logs": {
        "account_id": "varchar",
        "task_id": "varchar",
        "log_action": "varchar",
        "logged_at": "timestamptz",
        "state_before": "varchar",
        "state_after": "varchar",
    },
}


def test_winners_one_state_per_instant_by_precedence():
    """At 10:00 on the 3rd the log says in_progress, completed_at and the current row say done:
    the log wins. At creation, the created log (todo) is the only evidence."""
    rows = run_model(
        "int_task_state_intervals",
        {
            "staging.stg_buildos__tasks": [TASK],
            "staging.stg_buildos__task_logs": [
                {
                    "account_id": A,
                    "task_id": "t1",
                    "log_action": "updated",
                    "logged_at": ts("2026-03-03 10:00"),
                    "state_before": "todo",
                    "state_after": "in_progress",
                }
            ],
        },
        STATE_TYPES,
        order_by="observed_at",
        cte="winners",
    )
    assert [(r["observed_at"], r["task_state"], r["evidence"]) for r in rows] == [
        (ts("2026-03-01 09:00"), "todo", "created"),
        (ts("2026-03-03 10:00"), "in_progress", "log"),
    ]


def test_winners_history_beats_the_creation_default_and_ties_go_to_the_first_state():
    """Two history versions at the same instant (blocked, todo): equal precedence, so the first
    state by name wins, whatever order the rows come in."""
    task = {
        **TASK,
        "task_state": "todo",
        "completed_at": None,
        "updated_at": ts("2026-03-02 08:00"),
    }
    history = [
        {
            "account_id": A,
            "task_id": "t1",
            "task_state": state,
            "valid_from": ts("2026-03-02 08:00"),
            "completed_at": None,
        }
        for state in ("todo", "blocked")
    ]
    rows = run_model(
        "int_task_state_intervals",
        {
            "staging.stg_buildos__tasks": [task],
            "staging.stg_buildos__task_logs": [],
            "staging.stg_buildos__task_history": history,
        },
        {
            **STATE_TYPES,
            "staging.stg_buildos__task_history": {"completed_at": "timestamptz"},
        },
        order_by="observed_at",
        cte="winners",
    )
    assert [(r["task_state"], r["evidence"]) for r in rows] == [
        ("todo", "created"),
        ("blocked", "history"),
    ]


DAILY_TYPES = {
    "intermediate.int_task_state_intervals": {"valid_to": "timestamptz"},
    "intermediate.int_task_effort_intervals": {"valid_to": "timestamptz"},
}


def daily(cte: str, order_by: str) -> list[dict]:
    """t1: todo from the 1st 09:00, in progress from the 2nd 10:00, done from the 3rd 23:00;
    re-estimated from medium (3) to large (5) on the 4th 08:00. t2: todo, deleted on the 4th
    at midnight exactly."""
    intervals = [
        ("t1", "todo", "2026-03-01 09:00", "2026-03-02 10:00"),
        ("t1", "in_progress", "2026-03-02 10:00", "2026-03-03 23:00"),
        ("t1", "done", "2026-03-03 23:00", None),
        ("t2", "todo", "2026-03-01 12:00", "2026-03-04 00:00"),
    ]
    efforts = [
        ("t1", 3.0, "2026-03-01 09:00", "2026-03-04 08:00"),
        ("t1", 5.0, "2026-03-04 08:00", None),
        ("t2", 0.0, "2026-03-01 12:00", None),
    ]
    return run_model(
        "int_project_daily_states",
        {
            "intermediate.int_task_state_intervals": [
                {
                    "account_id": A,
                    "project_id": "p1",
                    "task_id": task,
                    "task_state": state,
                    "valid_from": ts(start),
                    "valid_to": ts(end) if end else None,
                }
                for task, state, start, end in intervals
            ],
            "intermediate.int_task_effort_intervals": [
                {
                    "account_id": A,
                    "project_id": "p1",
                    "task_id": task,
                    "effort_weight": weight,
                    "valid_from": ts(start),
                    "valid_to": ts(end) if end else None,
                }
                for task, weight, start, end in efforts
            ],
            "intermediate.int_project_days": [
                {"account_id": A, "project_id": "p1", "day_date": d(f"2026-03-0{n}")}
                for n in range(1, 6)
            ],
            "intermediate.int_account_as_of": [AS_OF],
        },
        DAILY_TYPES,
        order_by=order_by,
        cte=cte,
    )


def test_deltas_plus_one_on_the_first_day_end_inside_a_segment_minus_one_after_it():
    rows = daily("deltas", "day_date, sign, task_state, effort_weight")
    got = [(r["day_date"].day, r["sign"], r["task_state"], float(r["effort_weight"])) for r in rows]
    assert got == [
        (1, 1, "todo", 0.0),  # t2
        (1, 1, "todo", 3.0),  # t1
        (2, -1, "todo", 3.0),
        (2, 1, "in_progress", 3.0),
        (3, -1, "in_progress", 3.0),
        (3, 1, "done", 3.0),  # done at 23:00: the 3rd ends done
        (4, -1, "done", 3.0),  # re-estimated at 08:00 on the 4th
        (4, -1, "todo", 0.0),  # t2's last day end was midnight of the 3rd
        (4, 1, "done", 5.0),
    ]


def test_running_sums_give_the_end_of_day_states_and_weights():
    rows = daily("final", "day_date")
    got = [
        (
            r["day_date"].day,
            r["scope_tasks"],
            r["todo_tasks"],
            r["in_progress_tasks"],
            r["done_tasks"],
            r["scope_points"],
            r["done_points"],
            r["aged_wip_tasks"],
        )
        for r in rows
    ]
    assert got == [
        (1, 2, 2, 0, 0, 3.0, 0.0, 0),
        (2, 2, 1, 1, 0, 3.0, 0.0, 1),
        (3, 2, 1, 0, 1, 3.0, 3.0, 0),
        (4, 1, 0, 0, 1, 5.0, 5.0, 0),
        (5, 1, 0, 0, 1, 5.0, 5.0, 0),
    ]
    # t1 in progress at the end of the 2nd: 14 hours since its first start at 10:00
    assert rows[1]["aged_wip_age_microseconds"] == 14 * 3600 * 1_000_000
