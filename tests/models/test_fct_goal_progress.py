"""fct_goal_progress: BuildOS goal progress from supports_goal edges to live tasks."""

from tests.models.harness import run_model, ts

AS_OF = [{"account_id": "a", "as_of_at": ts("2026-03-10 00:00"), "as_of_date": "2026-03-09"}]
PROJECTS = [
    {"account_id": "a", "project_id": "p1", "is_deleted": False},
    {"account_id": "a", "project_id": "p_deleted", "is_deleted": True},
]
TYPES = {
    "staging.stg_buildos__goals": {"target_at": "timestamptz"},
    "staging.stg_buildos__tasks": {"completed_at": "timestamptz", "created_at": "timestamptz"},
}


def goal(goal_id, state="active", project="p1", deleted=False, target=None):
    return {
        "account_id": "a",
        "goal_id": goal_id,
        "project_id": project,
        "goal_name": goal_id.title(),
        "goal_state": state,
        "target_at": ts(target) if target else None,
        "is_deleted": deleted,
    }


def task(task_id, state, deleted=False):
    return {
        "account_id": "a",
        "project_id": "p1",
        "task_id": task_id,
        "task_state": state,
        "created_at": ts("2026-03-01 09:00"),
        # the app stamps every done task (done means int_task_completions: completed_at is read)
        "completed_at": ts("2026-03-05 10:00") if state == "done" else None,
        "is_deleted": deleted,
    }


def edge(edge_id, source, target, relation="supports_goal"):
    return {
        "account_id": "a",
        "edge_id": edge_id,
        "project_id": "p1",
        "relation": relation,
        "source_id": source,
        "target_id": target,
    }


GOALS = [
    goal("ship", target="2026-04-01 00:00"),
    goal("unlinked", state="achieved"),
    goal("deleted_goal", deleted=True),
    goal("orphan", project="p_deleted"),
]
TASKS = [
    task("done1", "done"),
    task("todo1", "todo"),
    task("reopened", "todo"),  # was done, reopened: not done now
    task("deleted_done", "done", deleted=True),
]
EDGES = [
    edge("e1", "done1", "ship"),
    edge("e2", "done1", "ship"),  # the same link stated twice counts once
    edge("e3", "todo1", "ship"),
    edge("e4", "reopened", "ship"),
    edge("e5", "deleted_done", "ship"),  # a deleted task does not count
    edge("e6", "done1", "unlinked", relation="relates_to"),  # not a supports_goal link
    edge("e7", "done1", "deleted_goal"),
]


def rows():
    return run_model(
        "fct_goal_progress",
        {
            "staging.stg_buildos__projects": PROJECTS,
            "staging.stg_buildos__goals": GOALS,
            "staging.stg_buildos__tasks": TASKS,
            "staging.stg_buildos__edges": EDGES,
            "intermediate.int_account_as_of": AS_OF,
        },
        TYPES,
        order_by="goal_id",
    )


def test_progress_counts_each_live_linked_task_once():
    result = {r["goal_id"]: r for r in rows()}
    assert set(result) == {"ship", "unlinked"}  # deleted goals and goals of deleted projects out
    ship = result["ship"]
    assert (ship["linked_tasks"], ship["done_linked_tasks"]) == (3, 1)
    assert ship["progress_pct"] == 100 / 3
    assert ship["target_at"] == ts("2026-04-01 00:00")
    assert ship["is_achieved"] is False
    assert ship["project_id"] == "p1"


def test_a_goal_with_no_links_has_no_progress_whatever_its_state():
    unlinked = next(r for r in rows() if r["goal_id"] == "unlinked")
    assert (unlinked["linked_tasks"], unlinked["done_linked_tasks"]) == (0, 0)
    assert unlinked["progress_pct"] is None
    assert unlinked["is_achieved"] is True
    assert unlinked["goal_state"] == "achieved"
