"""fct_project_completion: live/done counts, on-time rate and overdue, per live project."""

from tests.models.harness import run_model, ts

TYPES = {
    "staging.stg_buildos__tasks": {"due_at": "timestamptz", "completed_at": "timestamptz"},
}
AS_OF = [
    {"account_id": "a", "as_of_at": ts("2026-03-10 00:00"), "as_of_date": "2026-03-09"},
    {"account_id": "b", "as_of_at": ts("2026-03-07 00:00"), "as_of_date": "2026-03-06"},
]
PROJECTS = [
    {"account_id": "a", "project_id": "p1", "is_deleted": False},
    {"account_id": "a", "project_id": "p_empty", "is_deleted": False},
    {"account_id": "a", "project_id": "p_only_deleted", "is_deleted": False},
    {"account_id": "a", "project_id": "p_deleted", "is_deleted": True},
    {"account_id": "b", "project_id": "pb", "is_deleted": False},
]


def task(task_id, state, due=None, completed=None, project="p1", deleted=False, account="a"):
    return {
        "account_id": account,
        "project_id": project,
        "task_id": task_id,
        "task_state": state,
        "due_at": ts(due) if due else None,
        "completed_at": ts(completed) if completed else None,
        "is_deleted": deleted,
    }


TASKS = [
    task("on_time", "done", due="2026-03-02 17:00", completed="2026-03-01 12:00"),
    task("exactly_due", "done", due="2026-03-03 17:00", completed="2026-03-03 17:00"),
    task("late", "done", due="2026-03-03 17:00", completed="2026-03-05 09:00"),
    task("no_due", "done", completed="2026-03-04 09:00"),
    task("overdue", "todo", due="2026-03-05 17:00"),
    task("due_at_as_of", "in_progress", due="2026-03-10 00:00"),
    task("due_later", "todo", due="2026-03-20 17:00"),
    task("blocked_no_due", "blocked"),
    # done on the 3rd, then reopened: not done now, completed_at cleared, and past due
    task("reopened", "todo", due="2026-03-04 17:00"),
    task(
        "deleted_done", "done", due="2026-03-09 17:00", completed="2026-03-01 09:00", deleted=True
    ),
    task("deleted_overdue", "todo", due="2026-03-01 17:00", deleted=True),
    task("gone", "done", completed="2026-03-01 09:00", project="p_only_deleted", deleted=True),
    task("deleted_project_task", "done", project="p_deleted", completed="2026-03-01 09:00"),
    # overdue by account a's clock, not by account b's
    task("b_todo", "todo", due="2026-03-08 12:00", project="pb", account="b"),
]


def rows():
    return run_model(
        "fct_project_completion",
        {
            "staging.stg_buildos__projects": PROJECTS,
            "staging.stg_buildos__tasks": TASKS,
            "intermediate.int_account_as_of": AS_OF,
        },
        TYPES,
        order_by="account_id, project_id",
    )


def test_counts_rates_and_overdue_per_live_project():
    by_project = {r["project_id"]: r for r in rows()}
    assert set(by_project) == {"p1", "p_empty", "p_only_deleted", "pb"}
    p1 = by_project["p1"]
    assert {k: v for k, v in p1.items() if k not in ("account_id", "project_id")} == {
        "live_tasks": 9,
        "done_tasks": 4,
        "completion_pct": 400 / 9,
        "tasks_with_due_done": 3,
        "on_time_done_tasks": 2,  # completed_at <= due_at: on_time and exactly_due
        "on_time_completion_rate": 2 / 3,
        "overdue_tasks": 2,  # overdue and reopened; due exactly at as_of_at is not overdue
        "as_of_at": ts("2026-03-10 00:00"),
    }


def test_projects_without_live_tasks_have_no_rates():
    by_project = {r["project_id"]: r for r in rows()}
    for project_id in ("p_empty", "p_only_deleted"):
        row = by_project[project_id]
        assert (row["live_tasks"], row["done_tasks"], row["overdue_tasks"]) == (0, 0, 0)
        assert row["completion_pct"] is None
        assert row["on_time_completion_rate"] is None


def test_overdue_uses_each_accounts_own_clock():
    pb = next(r for r in rows() if r["project_id"] == "pb")
    assert (pb["live_tasks"], pb["overdue_tasks"], pb["completion_pct"]) == (1, 0, 0.0)
    assert pb["as_of_at"] == ts("2026-03-07 00:00")
