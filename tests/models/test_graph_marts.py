"""The graph marts on a few given rows: which entities become nodes, which ends are live, what
blocks what transitively (cycles included), and which goals nothing open works towards."""

from __future__ import annotations

from tests.models.harness import run_model, ts

T0 = ts("2026-03-01 09:00")
TYPES = {"created_at": "timestamptz", "deleted_at": "timestamptz"}


def _project(project_id: str, state: str = "active", deleted: bool = False) -> dict:
    return {
        "account_id": "a",
        "project_id": project_id,
        "project_name": f"Project {project_id}",
        "project_state": state,
        "created_at": T0,
        "deleted_at": T0 if deleted else None,
        "is_deleted": deleted,
    }


def _task(task_id: str, project_id: str = "p1", state: str = "todo", deleted=False) -> dict:
    return {
        "account_id": "a",
        "task_id": task_id,
        "project_id": project_id,
        "task_title": f"Task {task_id}",
        "task_state": state,
        "created_at": T0,
        "deleted_at": T0 if deleted else None,
        "is_deleted": deleted,
    }


def _edge(edge_id: str, relation: str, source: str, target: str, kinds=("task", "task")):
    return {
        "account_id": "a",
        "edge_id": edge_id,
        "project_id": "p1",
        "relation": relation,
        "source_kind": kinds[0],
        "source_id": source,
        "target_kind": kinds[1],
        "target_id": target,
        "created_at": T0,
    }


EMPTY = {
    "staging.stg_buildos__goals": [],
    "staging.stg_buildos__milestones": [],
    "staging.stg_buildos__plans": [],
    "staging.stg_buildos__documents": [],
}
EMPTY_TYPES = {
    name: {
        "account_id": "varchar",
        f"{kind}_id": "varchar",
        "project_id": "varchar",
        label: "varchar",
        f"{kind}_state": "varchar",
        "created_at": "timestamptz",
        "deleted_at": "timestamptz",
        "is_deleted": "boolean",
    }
    for name, kind, label in (
        ("staging.stg_buildos__goals", "goal", "goal_name"),
        ("staging.stg_buildos__milestones", "milestone", "milestone_title"),
        ("staging.stg_buildos__plans", "plan", "plan_name"),
        ("staging.stg_buildos__documents", "document", "document_title"),
    )
}
EDGE_TYPES = {
    c: "varchar"
    for c in ("account_id", "project_id", "source_id", "source_kind", "target_id", "target_kind")
}


def _nodes(projects, tasks, edges) -> dict[str, dict]:
    rows = run_model(
        "graph_nodes",
        {
            "staging.stg_buildos__projects": projects,
            "staging.stg_buildos__tasks": tasks,
            "staging.stg_buildos__edges": edges,
            **EMPTY,
        },
        types={
            "staging.stg_buildos__projects": TYPES,
            "staging.stg_buildos__tasks": TYPES,
            "staging.stg_buildos__edges": {} if edges else EDGE_TYPES,
            **EMPTY_TYPES,
        },
    )
    return {row["node_id"]: row for row in rows}


def test_an_edge_end_the_pipeline_does_not_land_becomes_a_node_flagged_not_landed():
    nodes = _nodes(
        [_project("p1")],
        [_task("t1")],
        [_edge("e1", "relates_to", "t1", "r1", kinds=("task", "risk"))],
    )
    assert set(nodes) == {"p1", "t1", "r1"}
    assert {k: nodes["r1"][k] for k in ("node_kind", "project_id", "is_landed", "is_live")} == {
        "node_kind": "risk",
        "project_id": "p1",
        "is_landed": False,
        "is_live": False,
    }
    assert nodes["t1"]["is_landed"] and nodes["t1"]["is_live"] and nodes["t1"]["is_open"]


def test_liveness_and_openness_follow_the_entity_and_its_project():
    nodes = _nodes(
        [_project("p1"), _project("p2", deleted=True), _project("p3", state="completed")],
        [
            _task("open"),
            _task("done", state="done"),
            _task("gone", deleted=True),
            _task("orphan", project_id="p2"),
            _task("late", project_id="p3", state="blocked"),
        ],
        [],
    )
    summary = {n: (r["is_live"], r["is_open"]) for n, r in nodes.items()}
    assert summary == {
        "p1": (True, True),
        "p2": (False, False),
        "p3": (True, False),  # completed: live, not open
        "open": (True, True),
        "done": (True, False),
        "gone": (False, False),
        "orphan": (False, False),  # its project is deleted
        "late": (True, True),  # a task's openness is its own state
    }


def _node(node_id: str, kind="task", state="todo", live=True, project="p1", open_=None):
    is_open = (state not in ("done", "completed") and live) if open_ is None else open_
    return {
        "account_id": "a",
        "node_id": node_id,
        "node_kind": kind,
        "node_label": node_id.upper(),
        "project_id": node_id if kind == "project" else project,
        "node_state": state,
        "is_live": live,
        "is_open": is_open,
    }


def _live_edge(edge_id: str, relation: str, source: str, target: str) -> dict:
    return {
        "account_id": "a",
        "edge_id": edge_id,
        "relation": relation,
        "source_id": source,
        "target_id": target,
        "is_live": True,
    }


def _blockers(nodes, edges) -> dict[tuple[str, str], dict]:
    rows = run_model("graph_blockers", {"marts.graph_nodes": nodes, "marts.graph_edges": edges})
    return {(r["blocked_id"], r["blocker_id"]): r for r in rows}


def test_blockers_are_transitive_through_blocks_and_depends_on_with_the_shortest_path():
    # a blocks b; c depends_on b; d depends_on c and on a: d is held up by c (1), b (2), a (1)
    rows = _blockers(
        [_node("p1", "project", "active"), *(_node(t) for t in "abcd")],
        [
            _live_edge("e1", "blocks", "a", "b"),
            _live_edge("e2", "depends_on", "c", "b"),
            _live_edge("e3", "depends_on", "d", "c"),
            _live_edge("e4", "depends_on", "d", "a"),
            _live_edge("e5", "relates_to", "a", "d"),  # not a blocking relation
        ],
    )
    tasks = {k: (r["depth"], r["path"]) for k, r in rows.items() if r["blocked_kind"] == "task"}
    assert tasks == {
        ("b", "a"): (1, ["a", "b"]),
        ("c", "b"): (1, ["b", "c"]),
        ("c", "a"): (2, ["a", "b", "c"]),
        ("d", "c"): (1, ["c", "d"]),
        ("d", "b"): (2, ["b", "c", "d"]),
        ("d", "a"): (1, ["a", "d"]),  # the direct edge beats a -> b -> c -> d
    }
    assert not any(r["is_cycle"] or r["is_in_cycle"] for r in rows.values())
    # the project is held up by every task that blocks one of its open tasks, at its nearest
    project = {k[1]: (r["via_id"], r["depth"]) for k, r in rows.items() if k[0] == "p1"}
    assert project == {"a": ("b", 1), "b": ("c", 1), "c": ("d", 1)}
    assert not any(r["is_direct"] for k, r in rows.items() if k[0] == "p1")


def test_a_finished_or_deleted_task_neither_blocks_nor_passes_blocking_on():
    rows = _blockers(
        [
            _node("p1", "project", "active"),
            _node("a"),
            _node("b", state="done"),
            _node("c"),
            _node("x", live=False),
        ],
        [
            _live_edge("e1", "blocks", "a", "b"),
            _live_edge("e2", "blocks", "b", "c"),
            _live_edge("e3", "blocks", "x", "c"),
        ],
    )
    assert rows == {}


def test_a_dependency_cycle_is_reported_once_per_member_and_the_walk_ends():
    # a -> b -> c -> a (each blocks the next), and d blocks a from outside the cycle
    rows = _blockers(
        [_node("p1", "project", "active"), *(_node(t) for t in "abcd")],
        [
            _live_edge("e1", "blocks", "a", "b"),
            _live_edge("e2", "blocks", "b", "c"),
            _live_edge("e3", "depends_on", "a", "c"),
            _live_edge("e4", "blocks", "d", "a"),
        ],
    )
    tasks = {k: r for k, r in rows.items() if r["blocked_kind"] == "task"}
    cycles = {k[0]: r["path"] for k, r in tasks.items() if r["is_cycle"]}
    assert cycles == {
        "a": ["a", "b", "c", "a"],
        "b": ["b", "c", "a", "b"],
        "c": ["c", "a", "b", "c"],
    }
    # every member is held up by every other member and by d; d is on no cycle
    assert {k for k in tasks if k[0] == "b"} == {("b", "a"), ("b", "b"), ("b", "c"), ("b", "d")}
    assert tasks[("b", "d")]["depth"] == 2 and not tasks[("b", "d")]["is_in_cycle"]
    assert tasks[("b", "c")]["is_in_cycle"] and not tasks[("b", "c")]["is_cycle"]
    assert len(tasks) == 3 * 4


def test_a_blocker_in_another_project_is_flagged():
    rows = _blockers(
        [
            _node("p1", "project", "active"),
            _node("p2", "project", "active"),
            _node("a", project="p2"),
            _node("b"),
        ],
        [_live_edge("e1", "depends_on", "b", "a")],
    )
    assert rows[("b", "a")]["is_other_project"] and rows[("p1", "a")]["is_other_project"]
    assert ("p2", "a") not in rows  # a blocks nothing of its own project


def test_goals_without_live_work_are_open_goals_no_open_entity_supports():
    nodes = [
        _node("p1", "project", "active"),
        _node("p2", "project", "completed"),
        _node("g_open_work", "goal", "active"),
        _node("g_all_done", "goal", "active"),
        _node("g_nothing", "goal", "draft"),
        _node("g_only_deleted", "goal", "active"),
        _node("g_achieved", "goal", "achieved", open_=False),
        _node("g_closed_project", "goal", "active", project="p2"),
        _node("t_open"),
        _node("t_done", state="done"),
        _node("t_deleted", live=False),
    ]
    edges = [
        {**_live_edge("e1", "supports_goal", "t_open", "g_open_work"), "is_source_live": True},
        {**_live_edge("e2", "supports_goal", "t_done", "g_all_done"), "is_source_live": True},
        {**_live_edge("e3", "supports_goal", "t_deleted", "g_only_deleted"), "is_live": False}
        | {"is_source_live": False},
    ]
    goals = [
        {"account_id": "a", "goal_id": n["node_id"], "target_at": None}
        for n in nodes
        if n["node_kind"] == "goal"
    ]
    rows = run_model(
        "graph_goals_without_live_work",
        {
            "marts.graph_nodes": nodes,
            "marts.graph_edges": edges,
            "staging.stg_buildos__goals": goals,
        },
        types={"staging.stg_buildos__goals": {"target_at": "timestamptz"}},
    )
    assert {r["goal_id"]: (r["reason"], r["live_supporters"]) for r in rows} == {
        "g_all_done": ("all_supporting_work_finished", 1),
        "g_nothing": ("no_supporting_work", 0),
        "g_only_deleted": ("no_supporting_work", 0),
    }
