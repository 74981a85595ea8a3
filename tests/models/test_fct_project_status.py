"""fct_project_status: blocked tasks, open dependencies, the next milestone and recent updates."""

from tests.models.harness import d, run_model, ts

A = "a"
AS_OF = [{"account_id": A, "as_of_at": ts("2026-03-10 00:00"), "as_of_date": d("2026-03-09")}]
PROJECTS = [
    {
        "account_id": A,
        "project_id": "p1",
        "project_name": "Podcast",
        "project_state": "active",
        "is_deleted": False,
    },
    {
        "account_id": A,
        "project_id": "p2",
        "project_name": "Quiet",
        "project_state": "planning",
        "is_deleted": False,
    },
    {
        "account_id": A,
        "project_id": "p_deleted",
        "project_name": "Gone",
        "project_state": "active",
        "is_deleted": True,
    },
]
COMPLETION = [
    {
        "account_id": A,
        "project_id": "p1",
        "live_tasks": 9,
        "done_tasks": 3,
        "completion_pct": 100 * 3 / 9,
        "overdue_tasks": 1,
        "as_of_at": ts("2026-03-10 00:00"),
    },
    {
        "account_id": A,
        "project_id": "p2",
        "live_tasks": 0,
        "done_tasks": 0,
        "completion_pct": None,
        "overdue_tasks": 0,
        "as_of_at": ts("2026-03-10 00:00"),
    },
]


def task(task_id, state, deleted=False):
    return {
        "account_id": A,
        "project_id": "p1",
        "task_id": task_id,
        "task_state": state,
        "is_deleted": deleted,
    }


def edge(edge_id, source, relation, target):
    return {
        "account_id": A,
        "edge_id": edge_id,
        "project_id": "p1",
        "relation": relation,
        "source_id": source,
        "target_id": target,
    }


TASKS = [
    task("a", "todo"),
    task("b", "in_progress"),
    task("c", "todo"),
    task("d", "done"),
    task("e", "blocked"),
    task("f", "blocked"),
    task("g", "todo"),
    task("h", "todo", deleted=True),
    task("i", "done"),
    task("j", "todo"),
    task("k", "blocked", deleted=True),
]
EDGES = [
    edge("e1", "a", "depends_on", "b"),  # a waits for b, b not done: open
    edge("e2", "b", "blocks", "a"),  # the same dependency stated the other way: counted once
    edge("e3", "c", "depends_on", "d"),  # d is done: closed
    edge("e4", "e", "blocks", "f"),  # f waits for e, e blocked (not done): open
    edge("e5", "g", "depends_on", "h"),  # h is deleted: not counted
    edge("e6", "i", "depends_on", "j"),  # i is done, but j (the one to finish first) is not
    edge("e7", "a", "relates_to", "c"),  # not a dependency
    edge("e8", "f", "blocks", "a"),  # a waits for f: open
]


def milestone(milestone_id, state, due, deleted=False, project="p1"):
    return {
        "account_id": A,
        "milestone_id": milestone_id,
        "project_id": project,
        "milestone_title": f"M {milestone_id}",
        "milestone_state": state,
        "due_at": ts(due) if due else None,
        "is_deleted": deleted,
    }


MILESTONES = [
    milestone("m_missed", "missed", "2026-03-08 17:00"),
    milestone("m_pending_past", "pending", "2026-03-09 17:00"),  # past as_of_at: not next
    milestone("m_completed_soon", "completed", "2026-03-10 12:00"),
    milestone("m_deleted_soon", "pending", "2026-03-10 13:00", deleted=True),
    milestone("m_no_due", "pending", None),
    milestone("m_b", "in_progress", "2026-03-12 17:00"),  # the next one (tie: lowest id)
    milestone("m_c", "pending", "2026-03-12 17:00"),
    milestone("m_later", "pending", "2026-03-30 17:00"),
]


def log(log_id, at, entity_type, name, action, before=None, after=None, project="p1"):
    return {
        "account_id": A,
        "log_id": log_id,
        "project_id": project,
        "entity_type": entity_type,
        "entity_id": f"id-{name}",
        "entity_name": name,
        "log_action": action,
        "state_before": before,
        "state_after": after,
        "logged_at": ts(at),
    }


LOGS = [
    log("l01", "2026-03-01 09:00", "project", "Podcast", "created", after="active"),
    log("l02", "2026-03-01 09:05", "task", "Record episode 1", "created", after="todo"),
    log("l03", "2026-03-04 16:00", "task", "Record episode 1", "updated", "in_progress", "done"),
    log("l04", "2026-03-05 08:00", "task", "Write notes", "updated", "done", "todo"),  # reopened
    log("l05", "2026-03-06 09:00", "goal", "Publish weekly", "updated", "active", "achieved"),
    log("l06", "2026-03-07 09:00", "task", "Buy microphone", "deleted", before="todo"),
    log("l07", "2026-03-08 12:00", "task", "Write notes", "updated", "todo", "todo"),  # a rename
    # two at the same instant: the higher log id first, as the API orders them
    log("l08", "2026-03-09 23:59", "milestone", "Trailer", "updated", "pending", "in_progress"),
    log("l09", "2026-03-09 23:59", "task", "Book guest", "updated", "todo", "todo"),
]


def rows():
    return run_model(
        "fct_project_status",
        {
            "staging.stg_buildos__projects": PROJECTS,
            "marts.fct_project_completion": COMPLETION,
            "staging.stg_buildos__tasks": TASKS,
            "staging.stg_buildos__edges": EDGES,
            "staging.stg_buildos__milestones": MILESTONES,
            "staging.stg_buildos__logs": LOGS,
            "intermediate.int_account_as_of": AS_OF,
        },
        {
            "staging.stg_buildos__logs": {"state_before": "varchar", "state_after": "varchar"},
            "staging.stg_buildos__milestones": {"due_at": "timestamptz"},
        },
        order_by="project_id",
    )


def test_one_row_per_live_project():
    assert [r["project_id"] for r in rows()] == ["p1", "p2"]


def test_blocked_tasks_and_open_dependencies():
    p1 = rows()[0]
    assert p1["blocked_tasks"] == 2  # e and f; k is deleted
    # (a waits for b), (f waits for e), (i waits for j), (a waits for f)
    assert p1["open_dependencies"] == 4
    assert (p1["live_tasks"], p1["done_tasks"], p1["completion_pct"]) == (9, 3, 100 * 3 / 9)


def test_next_milestone_is_the_nearest_not_completed_one_not_yet_due():
    p1 = rows()[0]
    assert p1["next_milestone_title"] == "M m_b"
    assert p1["next_milestone_due_at"] == ts("2026-03-12 17:00")
    assert p1["days_until_next_milestone"] == 3  # the 12th minus the as-of day, the 9th


def test_recent_updates_are_the_last_five_logs_in_words():
    assert rows()[0]["recent_updates"] == [
        "2026-03-09: task 'Book guest' updated",
        "2026-03-09: milestone 'Trailer' moved from pending to in_progress",
        "2026-03-08: task 'Write notes' updated",
        "2026-03-07: task 'Buy microphone' deleted",
        "2026-03-06: goal 'Publish weekly' moved from active to achieved",
    ]


def test_a_project_with_nothing_has_zeros_nulls_and_no_updates():
    p2 = rows()[1]
    assert (p2["blocked_tasks"], p2["open_dependencies"]) == (0, 0)
    assert p2["completion_pct"] is None
    assert p2["next_milestone_title"] is None
    assert p2["days_until_next_milestone"] is None
    assert p2["recent_updates"] == []


def test_state_change_wording():
    # a created log names no move; an update that changes the state does
    logs = [
        log("x1", "2026-03-02 10:00", "task", "Draft chapter 2", "created", after="todo"),
        log("x2", "2026-03-03 10:00", "task", "Draft chapter 2", "updated", "todo", "done"),
    ]
    result = run_model(
        "fct_project_status",
        {
            "staging.stg_buildos__projects": PROJECTS[:1],
            "marts.fct_project_completion": COMPLETION[:1],
            "staging.stg_buildos__tasks": TASKS,
            "staging.stg_buildos__edges": EDGES,
            "staging.stg_buildos__milestones": MILESTONES,
            "staging.stg_buildos__logs": logs,
            "intermediate.int_account_as_of": AS_OF,
        },
        {"staging.stg_buildos__milestones": {"due_at": "timestamptz"}},
    )
    assert result[0]["recent_updates"] == [
        "2026-03-03: task 'Draft chapter 2' moved from todo to done",
        "2026-03-02: task 'Draft chapter 2' created",
    ]
