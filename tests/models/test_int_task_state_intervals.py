"""int_task_state_intervals: the precedence rule between logs, history, completed_at."""

from tests.models.harness import run_model, ts

A = "acct"
TASK = {
    "account_id": A,
    "project_id": "p1",
    "task_id": "t1",
    "task_state": "done",
    "created_at": ts("2026-03-01 09:00"),
    "updated_at": ts("2026-03-05 10:00"),
    "completed_at": ts("2026-03-05 10:00"),
    "deleted_at": None,
}
TYPES = {
    "staging.stg_buildos__tasks": {"deleted_at": "timestamptz", "completed_at": "timestamptz"},
    "staging.stg_buildos__task_logs": {
        "logged_at": "timestamptz",
        "state_before": "varchar",
        "state_after": "varchar",
        "account_id": "varchar",
        "task_id": "varchar",
        "log_action": "varchar",
    },
    "staging.stg_buildos__task_history": {
        "valid_from": "timestamptz",
        "completed_at": "timestamptz",
        "account_id": "varchar",
        "task_id": "varchar",
        "task_state": "varchar",
    },
}


def log(action, at, before=None, after=None):
    return {
        "account_id": A,
        "task_id": "t1",
        "log_action": action,
        "logged_at": ts(at),
        "state_before": before,
        "state_after": after,
    }


def intervals(task, logs, history=()):
    rows = run_model(
        "int_task_state_intervals",
        {
            "staging.stg_buildos__tasks": [task],
            "staging.stg_buildos__task_logs": list(logs),
            "staging.stg_buildos__task_history": list(history),
        },
        TYPES,
        order_by="valid_from",
    )
    return [(r["task_state"], r["valid_from"], r["valid_to"], r["evidence"]) for r in rows]


def test_logged_transitions_give_exact_intervals():
    logs = [
        log("created", "2026-03-01 09:00", after="todo"),
        log("updated", "2026-03-02 09:00", "todo", "in_progress"),
        log("updated", "2026-03-05 10:00", "in_progress", "done"),
    ]
    assert intervals(TASK, logs) == [
        ("todo", ts("2026-03-01 09:00"), ts("2026-03-02 09:00"), "created"),
        ("in_progress", ts("2026-03-02 09:00"), ts("2026-03-05 10:00"), "log"),
        ("done", ts("2026-03-05 10:00"), None, "log"),
    ]


def test_completed_at_dates_an_unlogged_completion():
    logs = [
        log("created", "2026-03-01 09:00", after="todo"),
        log("updated", "2026-03-02 09:00", "todo", "in_progress"),
    ]
    task = {**TASK, "updated_at": ts("2026-03-06 12:00")}  # a later unlogged edit
    assert intervals(task, logs)[-1] == ("done", ts("2026-03-05 10:00"), None, "completed_at")


def test_history_dates_an_unlogged_change_by_its_updated_at():
    logs = [log("created", "2026-03-01 09:00", after="todo")]
    task = {
        **TASK,
        "task_state": "in_progress",
        "completed_at": None,
        "updated_at": ts("2026-03-03 15:00"),
    }
    assert intervals(task, logs) == [
        ("todo", ts("2026-03-01 09:00"), ts("2026-03-03 15:00"), "created"),
        ("in_progress", ts("2026-03-03 15:00"), None, "history"),
    ]


def test_reopened_task_keeps_its_first_completion_from_history():
    # done on the 3rd (seen by an earlier sync), reopened silently on the 4th, done on the 5th
    history = [
        {
            "account_id": A,
            "task_id": "t1",
            "task_state": "done",
            "valid_from": ts("2026-03-03 10:00"),
            "completed_at": ts("2026-03-03 10:00"),
        },
        {
            "account_id": A,
            "task_id": "t1",
            "task_state": "todo",
            "valid_from": ts("2026-03-04 10:00"),
            "completed_at": None,
        },
    ]
    states = [row[:2] for row in intervals(TASK, [], history)]
    assert states == [
        ("todo", ts("2026-03-01 09:00")),
        ("done", ts("2026-03-03 10:00")),
        ("todo", ts("2026-03-04 10:00")),
        ("done", ts("2026-03-05 10:00")),
    ]


def test_a_log_beats_history_at_the_same_instant():
    history = [
        {
            "account_id": A,
            "task_id": "t1",
            "task_state": "blocked",
            "valid_from": ts("2026-03-02 09:00"),
            "completed_at": None,
        }
    ]
    logs = [log("updated", "2026-03-02 09:00", "todo", "in_progress")]
    states = [
        row[0]
        for row in intervals(
            {
                **TASK,
                "completed_at": None,
                "task_state": "in_progress",
                "updated_at": ts("2026-03-02 09:00"),
            },
            logs,
            history,
        )
    ]
    assert states == ["todo", "in_progress"]


def test_intervals_end_at_deletion_and_ignore_later_evidence():
    task = {
        **TASK,
        "task_state": "todo",
        "completed_at": None,
        "deleted_at": ts("2026-03-02 00:00"),
        "updated_at": ts("2026-03-02 00:00"),
    }
    logs = [log("updated", "2026-03-04 09:00", "todo", "done")]
    assert intervals(task, logs) == [
        ("todo", ts("2026-03-01 09:00"), ts("2026-03-02 00:00"), "created")
    ]
