"""Project completion, goal progress, project status and the goal, milestone and date
dimensions against the sandbox's ground truth, plus a hand-written workspace with known answers.

Expected values come from the truth's rows (state_key, deleted_at, completed_at, due_at), its
live edges, goals and milestones, computed with Polars; the models' SQL is never used for them.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import orjson
import polars as pl
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.sandbox import SimulationOptions
from pipeline.sandbox.model import log_id
from tests.models.truth import NOW, Built, build_from_sandbox, live_project_ids, parse

CASES = [
    pytest.param(
        SimulationOptions(
            seed=3,
            accounts=2,
            projects_per_account=4,
            tasks_per_project=20,
            now=NOW,
            silent_change_rate=0.0,
        ),
        id="seed3-small-all-logged",
    ),
    pytest.param(
        SimulationOptions(
            seed=8, accounts=2, projects_per_account=5, tasks_per_project=25, now=NOW
        ),
        id="seed8-small-default-silent-rate",
    ),
    pytest.param(
        SimulationOptions(
            seed=21,
            accounts=1,
            projects_per_account=10,
            tasks_per_project=35,
            days=90,
            now=NOW,
            silent_change_rate=0.0,
        ),
        id="seed21-medium-all-logged",
    ),
]
PROJECT_KEYS = ["account_id", "project_id"]
NAME_FIELD = {
    "projects": "name",
    "tasks": "title",
    "goals": "name",
    "plans": "name",
    "milestones": "title",
    "documents": "title",
}


@pytest.fixture(scope="module", params=CASES)
def built(request, tmp_path_factory) -> Built:
    """One sync and build per case, shared by the read-only checks below."""
    return build_from_sandbox(tmp_path_factory.mktemp("truth"), request.param)


def _items(built: Built, group: str):
    for account in built.truth["accounts"]:
        for item in account[group]:
            yield account["account_id"], item


def _live_projects(built: Built) -> pl.DataFrame:
    live = live_project_ids(built)
    return pl.DataFrame(
        [
            {
                "account_id": account_id,
                "project_id": item["id"],
                "project_name": item["row"]["name"],
                "project_state": item["row"]["state_key"],
            }
            for account_id, item in _items(built, "projects")
            if item["id"] in live
        ]
    )


def _live_tasks(built: Built) -> pl.DataFrame:
    """Tasks not deleted now, of live projects, as their rows stand now."""
    live = live_project_ids(built)
    return pl.DataFrame(
        [
            {
                "account_id": account_id,
                "project_id": item["project_id"],
                "task_id": item["id"],
                "task_state": item["row"]["state_key"],
                "due_at": parse(item["row"]["due_at"]),
                "completed_at": parse(item["row"]["completed_at"]),
            }
            for account_id, item in _items(built, "tasks")
            if item["project_id"] in live and item["deleted_at"] is None
        ],
        schema={
            "account_id": pl.String,
            "project_id": pl.String,
            "task_id": pl.String,
            "task_state": pl.String,
            "due_at": pl.Datetime("us", "UTC"),
            "completed_at": pl.Datetime("us", "UTC"),
        },
    )


def _live_edges(built: Built, relations: tuple[str, ...]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "account_id": account_id,
                "relation": item["row"]["rel"],
                "source_id": item["row"]["src_id"],
                "target_id": item["row"]["dst_id"],
            }
            for account_id, item in _items(built, "edges")
            if item["deleted_at"] is None and item["row"]["rel"] in relations
        ],
        schema={
            "account_id": pl.String,
            "relation": pl.String,
            "source_id": pl.String,
            "target_id": pl.String,
        },
    )


def _percent(part: str, whole: str) -> pl.Expr:
    return pl.when(pl.col(whole) > 0).then(100 * pl.col(part) / pl.col(whole))


def true_completion(built: Built) -> pl.DataFrame:
    done = pl.col("task_state") == "done"
    counts = (
        _live_tasks(built)
        .group_by(PROJECT_KEYS)
        .agg(
            live_tasks=pl.len(),
            done_tasks=done.sum(),
            tasks_with_due_done=(done & pl.col("due_at").is_not_null()).sum(),
            on_time_done_tasks=(done & (pl.col("completed_at") <= pl.col("due_at")))
            .fill_null(False)
            .sum(),
            overdue_tasks=(~done & (pl.col("due_at") < built.now)).fill_null(False).sum(),
        )
    )
    count_columns = [c for c in counts.columns if c not in PROJECT_KEYS]
    return (
        _live_projects(built)
        .join(counts, on=PROJECT_KEYS, how="left")
        .with_columns(pl.col(count_columns).fill_null(0).cast(pl.Int64))
        .with_columns(
            completion_pct=_percent("done_tasks", "live_tasks"),
            on_time_completion_rate=pl.when(pl.col("tasks_with_due_done") > 0).then(
                pl.col("on_time_done_tasks") / pl.col("tasks_with_due_done")
            ),
            as_of_at=pl.lit(built.now),
        )
    )


def true_goal_progress(built: Built) -> pl.DataFrame:
    live = live_project_ids(built)
    goals = pl.DataFrame(
        [
            {
                "account_id": account_id,
                "goal_id": item["id"],
                "project_id": item["project_id"],
                "goal_state": item["row"]["state_key"],
                "target_at": parse(item["row"]["target_date"]),
            }
            for account_id, item in _items(built, "goals")
            if item["project_id"] in live and item["deleted_at"] is None
        ],
        schema_overrides={"target_at": pl.Datetime("us", "UTC")},
    )
    links = (
        _live_edges(built, ("supports_goal",))
        .join(
            _live_tasks(built),
            left_on=["account_id", "source_id"],
            right_on=["account_id", "task_id"],
        )
        .select("account_id", pl.col("target_id").alias("goal_id"), "source_id", "task_state")
        .unique()
        .group_by("account_id", "goal_id")
        .agg(linked_tasks=pl.len(), done_linked_tasks=(pl.col("task_state") == "done").sum())
    )
    return (
        goals.join(links, on=["account_id", "goal_id"], how="left")
        .with_columns(pl.col("linked_tasks", "done_linked_tasks").fill_null(0).cast(pl.Int64))
        .with_columns(
            is_achieved=pl.col("goal_state") == "achieved",
            progress_pct=_percent("done_linked_tasks", "linked_tasks"),
        )
    )


def _api_milestone_state(row: dict, built: Built) -> str:
    due = parse(row["due_at"])
    if row["state_key"] not in ("completed", "in_progress") and due is not None and due < built.now:
        return "missed"
    return row["state_key"]


def true_milestones(built: Built) -> pl.DataFrame:
    """Milestones of live projects that are not deleted (the ones the pipeline can see)."""
    live = live_project_ids(built)
    rows = []
    for account_id, item in _items(built, "milestones"):
        if item["project_id"] not in live or item["deleted_at"] is not None:
            continue
        row = item["row"]
        due = parse(row["due_at"])
        state = _api_milestone_state(row, built)
        rows.append(
            {
                "account_id": account_id,
                "milestone_id": item["id"],
                "project_id": item["project_id"],
                "milestone_title": row["title"],
                "milestone_state": state,
                "stored_state": row["state_key"],
                "due_at": due,
                "is_missed": state == "missed",
                "days_until_due": (due.date() - built.as_of_date).days if due else None,
            }
        )
    return pl.DataFrame(rows, schema_overrides={"due_at": pl.Datetime("us", "UTC")})


def true_open_dependencies(built: Built) -> pl.DataFrame:
    edges = _live_edges(built, ("depends_on", "blocks"))
    waits = pl.concat(
        [
            edges.filter(pl.col("relation") == "depends_on").select(
                "account_id",
                pl.col("source_id").alias("waiting_id"),
                pl.col("target_id").alias("prerequisite_id"),
            ),
            edges.filter(pl.col("relation") == "blocks").select(
                "account_id",
                pl.col("target_id").alias("waiting_id"),
                pl.col("source_id").alias("prerequisite_id"),
            ),
        ]
    )
    tasks = _live_tasks(built)
    return (
        waits.join(
            tasks.select("account_id", "task_id", "project_id"),
            left_on=["account_id", "waiting_id"],
            right_on=["account_id", "task_id"],
        )
        .join(
            tasks.select("account_id", "task_id", pl.col("task_state").alias("prerequisite_state")),
            left_on=["account_id", "prerequisite_id"],
            right_on=["account_id", "task_id"],
        )
        .filter(pl.col("prerequisite_state") != "done")
        .unique(["account_id", "waiting_id", "prerequisite_id"])
        .group_by(PROJECT_KEYS)
        .agg(open_dependencies=pl.len())
    )


def true_recent_updates(built: Built) -> dict[tuple[str, str], list[str]]:
    """The app's activity log rebuilt from each entity's logged changes, newest 5 per project."""
    live = live_project_ids(built)
    entries: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for group, name_field in NAME_FIELD.items():
        for account_id, item in _items(built, group):
            project_id = item["id"] if group == "projects" else item["project_id"]
            if project_id not in live:
                continue
            label = f"{item['kind']} '{item['row'].get(name_field) or 'Untitled'}'"
            intervals = item["state_intervals"]
            state = intervals[0]["state"] if intervals else None
            logs = entries[(account_id, project_id)]
            if item["created_logged"]:
                logs.append((parse(item["created_at"]), log_id(item["id"], 0), "created", label))
            for index, change in enumerate(item["changes"], start=1):
                fields = change["fields"]
                new_state = fields.get("state_key", state)
                if change["logged"]:
                    if fields.get("deleted_at"):
                        words = "deleted"
                    elif new_state != state:
                        words = f"moved from {state} to {new_state}"
                    else:
                        words = "updated"
                    logs.append((parse(change["at"]), log_id(item["id"], index), words, label))
                state = new_state
    return {
        key: [f"{at.date().isoformat()}: {label} {words}" for at, _, words, label in newest[:5]]
        for key, newest in (
            (key, sorted(logs, key=lambda e: (e[0], e[1]), reverse=True))
            for key, logs in entries.items()
        )
    }


def true_status(built: Built) -> pl.DataFrame:
    milestones = true_milestones(built)
    next_milestones = (
        milestones.filter((pl.col("stored_state") != "completed") & (pl.col("due_at") >= built.now))
        .sort("due_at", "milestone_id")
        .group_by(PROJECT_KEYS, maintain_order=True)
        .first()
        .select(
            *PROJECT_KEYS,
            next_milestone_title="milestone_title",
            next_milestone_due_at="due_at",
            days_until_next_milestone="days_until_due",
        )
    )
    blocked = (
        _live_tasks(built)
        .filter(pl.col("task_state") == "blocked")
        .group_by(PROJECT_KEYS)
        .agg(blocked_tasks=pl.len())
    )
    updates = true_recent_updates(built)
    return (
        true_completion(built)
        .join(blocked, on=PROJECT_KEYS, how="left")
        .join(true_open_dependencies(built), on=PROJECT_KEYS, how="left")
        .with_columns(pl.col("blocked_tasks", "open_dependencies").fill_null(0).cast(pl.Int64))
        .join(next_milestones, on=PROJECT_KEYS, how="left")
        .with_columns(
            recent_updates=pl.struct(PROJECT_KEYS).map_elements(
                lambda key: updates.get((key["account_id"], key["project_id"]), []),
                return_dtype=pl.List(pl.String),
            )
        )
    )


def _same(built: Built, relation: str, expected: pl.DataFrame, keys: list[str]) -> list[dict]:
    """The model's rows and the expected ones, same columns, sorted, as Python values."""
    columns = expected.columns
    actual = built.sql(f"select {', '.join(columns)} from {relation}").sort(keys).to_dicts()
    assert actual == expected.sort(keys).to_dicts()
    return actual


def test_project_completion_equals_the_truth(built):
    expected = true_completion(built).drop("project_name", "project_state")
    actual = _same(built, "marts.fct_project_completion", expected, PROJECT_KEYS)
    assert len(actual) == len(live_project_ids(built))
    assert sum(r["done_tasks"] for r in actual) > 0
    assert sum(r["tasks_with_due_done"] for r in actual) > sum(
        r["on_time_done_tasks"] for r in actual
    )


def test_goal_progress_equals_the_truth(built):
    expected = true_goal_progress(built)
    actual = _same(built, "marts.fct_goal_progress", expected, ["account_id", "goal_id"])
    assert any(r["progress_pct"] is not None for r in actual)


def test_project_status_equals_the_truth(built):
    expected = true_status(built).select(
        *PROJECT_KEYS,
        "project_name",
        "project_state",
        "completion_pct",
        "live_tasks",
        "done_tasks",
        "overdue_tasks",
        "blocked_tasks",
        "open_dependencies",
        "next_milestone_title",
        "next_milestone_due_at",
        "days_until_next_milestone",
        "recent_updates",
        "as_of_at",
    )
    actual = _same(built, "marts.fct_project_status", expected, PROJECT_KEYS)
    assert all(len(r["recent_updates"]) == 5 for r in actual)


def test_dependencies_milestones_and_overdue_work_occur_in_the_simulation(built):
    """The comparisons above are only as good as the cases the simulation produces."""
    status = true_status(built)
    assert status["open_dependencies"].sum() > 0
    assert status["next_milestone_title"].is_not_null().sum() > 0
    assert status["overdue_tasks"].sum() > 0
    assert any(t["deleted_at"] for _, t in _items(built, "tasks"))


def test_milestone_and_goal_dimensions_equal_the_truth(built):
    milestones = true_milestones(built).drop("stored_state")
    _same(
        built,
        "marts.dim_milestones where not is_deleted",
        milestones,
        ["account_id", "milestone_id"],
    )
    goals = true_goal_progress(built).select(
        "account_id", "goal_id", "project_id", "goal_state", "target_at", "is_achieved"
    )
    live = "(select project_id from marts.dim_projects where not is_deleted)"
    _same(
        built,
        f"marts.dim_goals where not is_deleted and project_id in {live}",
        goals,
        ["account_id", "goal_id"],
    )


def test_dim_dates_spans_first_project_to_as_of_plus_90_days(built):
    live = live_project_ids(built)
    first = min(
        parse(p["created_at"]).date() for _, p in _items(built, "projects") if p["id"] in live
    )
    last = built.as_of_date + timedelta(days=90)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    expected = pl.DataFrame(
        {
            "day_date": days,
            "iso_year": [day.isocalendar().year for day in days],
            "iso_week": [day.isocalendar().week for day in days],
            "week_start": [day - timedelta(days=day.weekday()) for day in days],
            "month_start": [day.replace(day=1) for day in days],
            "day_of_week": [day.isoweekday() for day in days],
            "is_weekend": [day.isoweekday() >= 6 for day in days],
        }
    )
    _same(built, "marts.dim_dates", expected, ["day_date"])


# A hand-written workspace: every number below is worked out by hand from it.
# Project ids must be UUIDs (the API checks them); the other ids are kept short.
P1 = "00000000-0000-4000-8000-000000000001"
P2 = "00000000-0000-4000-8000-000000000002"
P3 = "00000000-0000-4000-8000-000000000003"
Q1 = "00000000-0000-4000-8000-000000000011"
Q2 = "00000000-0000-4000-8000-000000000012"
WORKSPACE = {
    "format": "buildos-sandbox-workspace/1",
    # synced at the 9th and again at the 10th (the fixture advances the clock a day), so the
    # pipeline sees g3 and m5 before their deletion on the 9th
    "now": "2026-03-09T00:00:00Z",
    "accounts": [
        {
            "email": "demo@sandbox.local",
            "password": "sandbox",
            "projects": [
                {
                    "id": P1,
                    "name": "Launch the podcast",
                    "state_key": "active",
                    "created_at": "2026-03-01T09:00:00Z",
                    "tasks": [
                        {
                            "id": "t1",
                            "title": "Record episode 1",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-05T17:00:00Z",
                            "changes": [
                                {"at": "2026-03-02T10:00:00Z", "state_key": "in_progress"},
                                {"at": "2026-03-04T16:00:00Z", "state_key": "done"},
                            ],
                        },
                        {
                            "id": "t2",
                            "title": "Edit episode 1",
                            "created_at": "2026-03-01T09:05:00Z",
                            "due_at": "2026-03-04T17:00:00Z",
                            "changes": [{"at": "2026-03-06T09:00:00Z", "state_key": "done"}],
                        },
                        {
                            "id": "t3",
                            "title": "Write show notes",
                            "created_at": "2026-03-01T09:10:00Z",
                            "changes": [
                                {"at": "2026-03-03T10:00:00Z", "state_key": "done"},
                                {"at": "2026-03-05T10:00:00Z", "state_key": "todo"},
                                {"at": "2026-03-08T12:00:00Z", "state_key": "done"},
                            ],
                        },
                        {
                            "id": "t4",
                            "title": "Book guest",
                            "created_at": "2026-03-01T09:15:00Z",
                            "due_at": "2026-03-08T12:00:00Z",
                            "changes": [{"at": "2026-03-09T10:00:00Z", "title": "Book the guest"}],
                        },
                        {
                            "id": "t5",
                            "title": "Design cover art",
                            "created_at": "2026-03-02T09:00:00Z",
                            "due_at": "2026-03-20T17:00:00Z",
                            "changes": [{"at": "2026-03-03T09:00:00Z", "state_key": "blocked"}],
                        },
                        {
                            "id": "t6",
                            "title": "Buy microphone",
                            "created_at": "2026-03-01T09:20:00Z",
                            "changes": [
                                {
                                    "at": "2026-03-02T09:00:00Z",
                                    "state_key": "done",
                                    "logged": False,
                                },
                                {"at": "2026-03-07T09:00:00Z", "deleted": True},
                            ],
                        },
                        {
                            "id": "t7",
                            "title": "Publish episode 1",
                            "created_at": "2026-03-01T09:25:00Z",
                            "due_at": "2026-03-12T17:00:00Z",
                        },
                    ],
                    "goals": [
                        {
                            "id": "g1",
                            "name": "Publish weekly",
                            "created_at": "2026-03-01T09:00:00Z",
                        },
                        {
                            "id": "g2",
                            "name": "Grow the audience",
                            "created_at": "2026-03-01T09:00:00Z",
                            "target_date": "2026-04-01T00:00:00Z",
                        },
                        {
                            "id": "g3",
                            "name": "Old goal",
                            "created_at": "2026-03-01T09:00:00Z",
                            "changes": [
                                {"at": "2026-03-09T06:00:00Z", "deleted": True, "logged": False}
                            ],
                        },
                    ],
                    "milestones": [
                        {
                            "id": "m1",
                            "title": "Pilot recorded",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-05T17:00:00Z",
                            "changes": [{"at": "2026-03-04T17:00:00Z", "state_key": "completed"}],
                        },
                        {
                            "id": "m2",
                            "title": "Trailer out",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-08T17:00:00Z",
                        },
                        {
                            "id": "m3",
                            "title": "Episode 1 live",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-12T17:00:00Z",
                            "changes": [{"at": "2026-03-06T08:00:00Z", "state_key": "in_progress"}],
                        },
                        {
                            "id": "m4",
                            "title": "Season planned",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-30T17:00:00Z",
                        },
                        {
                            "id": "m5",
                            "title": "Dropped milestone",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-11T17:00:00Z",
                            "changes": [
                                {"at": "2026-03-09T06:00:00Z", "deleted": True, "logged": False}
                            ],
                        },
                        {
                            "id": "m6",
                            "title": "Studio set up",
                            "created_at": "2026-03-01T09:00:00Z",
                            "due_at": "2026-03-07T17:00:00Z",
                            "changes": [{"at": "2026-03-05T09:00:00Z", "state_key": "in_progress"}],
                        },
                    ],
                    "edges": [
                        {"src_id": "t1", "dst_id": "g1", "rel": "supports_goal"},
                        {"src_id": "t2", "dst_id": "g1", "rel": "supports_goal"},
                        {"src_id": "t7", "dst_id": "g1", "rel": "supports_goal"},
                        {"src_id": "t6", "dst_id": "g1", "rel": "supports_goal"},
                        {"src_id": "t4", "dst_id": "g2", "rel": "relates_to"},
                        {"src_id": "t7", "dst_id": "t4", "rel": "depends_on"},
                        {"src_id": "t7", "dst_id": "t1", "rel": "depends_on"},
                        {"src_id": "t5", "dst_id": "t7", "rel": "blocks"},
                        {"src_id": "t3", "dst_id": "t6", "rel": "depends_on"},
                        {
                            "src_id": "t5",
                            "dst_id": "t4",
                            "rel": "depends_on",
                            "removed_at": "2026-03-04T09:00:00Z",
                        },
                    ],
                },
                {
                    "id": P2,
                    "name": "Empty project",
                    "state_key": "planning",
                    "created_at": "2026-02-27T10:00:00Z",
                },
                {
                    "id": P3,
                    "name": "Launch the Podcast",
                    "created_at": "2026-03-02T10:00:00Z",
                },
            ],
        },
        {
            "email": "other@sandbox.local",
            "password": "other",
            "projects": [
                {
                    "id": Q1,
                    "name": "Launch the podcast",
                    "created_at": "2026-03-03T10:00:00Z",
                    "tasks": [{"id": "u1", "title": "Plan", "created_at": "2026-03-03T10:00:00Z"}],
                },
                {
                    "id": Q2,
                    "name": "Abandoned idea",
                    "created_at": "2026-02-20T10:00:00Z",
                    "changes": [{"at": "2026-02-25T10:00:00Z", "deleted": True}],
                },
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def workspace_built(tmp_path_factory) -> Built:
    path = tmp_path_factory.mktemp("workspace") / "case.json"
    path.write_bytes(orjson.dumps(WORKSPACE))
    return build_from_sandbox(path.parent, workspace_file=path, advance_days=(1,))


def _row(built: Built, relation: str, project_id: str) -> dict:
    cursor = built.con.execute(f"select * from {relation} where project_id = ?", [project_id])
    names = [column[0] for column in cursor.description]
    rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    assert len(rows) == 1, rows
    return rows[0]


def test_workspace_project_completion(workspace_built):
    p1 = _row(workspace_built, "marts.fct_project_completion", P1)
    # live: t1 t2 t3 t4 t5 t7 (t6 deleted); done: t1 t2 t3 (t3 reopened, then done again)
    assert p1["live_tasks"] == 6
    assert p1["done_tasks"] == 3
    assert p1["completion_pct"] == 50.0
    assert p1["tasks_with_due_done"] == 2  # t1 (on time) and t2 (late); t3 has no due date
    assert p1["on_time_done_tasks"] == 1
    assert p1["on_time_completion_rate"] == 0.5
    assert p1["overdue_tasks"] == 1  # t4, due on the 8th; t7 is due on the 12th
    p2 = _row(workspace_built, "marts.fct_project_completion", P2)
    assert (p2["live_tasks"], p2["completion_pct"], p2["on_time_completion_rate"]) == (
        0,
        None,
        None,
    )
    projects = workspace_built.sql("select project_id from marts.fct_project_completion")
    assert sorted(projects["project_id"]) == [P1, P2, P3, Q1]  # q2 was deleted


def test_workspace_goal_progress(workspace_built):
    rows = workspace_built.sql(
        "select goal_id, linked_tasks, done_linked_tasks, progress_pct, is_achieved, target_at "
        "from marts.fct_goal_progress order by goal_id"
    ).to_dicts()
    assert [r["goal_id"] for r in rows] == ["g1", "g2"]  # g3 was deleted
    g1, g2 = rows
    # t1, t2, t7 linked and live (t6 is deleted); t1 and t2 done
    assert (g1["linked_tasks"], g1["done_linked_tasks"]) == (3, 2)
    assert g1["progress_pct"] == 200 / 3
    # only a relates_to edge points at g2
    assert (g2["linked_tasks"], g2["done_linked_tasks"], g2["progress_pct"]) == (0, 0, None)
    assert g2["target_at"].isoformat() == "2026-04-01T00:00:00+00:00"
    goals = workspace_built.sql("select goal_id, is_deleted from marts.dim_goals order by goal_id")
    assert goals.rows() == [("g1", False), ("g2", False), ("g3", True)]


def test_workspace_milestones(workspace_built):
    rows = workspace_built.sql(
        "select milestone_id, milestone_state, is_missed, days_until_due, is_deleted "
        "from marts.dim_milestones "
        "order by milestone_id"
    ).rows()
    # as_of_at is 2026-03-10 00:00, so as_of_date is the 9th; m5 (deleted) is kept, flagged
    assert rows == [
        ("m1", "completed", False, -4, False),
        ("m2", "missed", True, -1, False),
        ("m3", "in_progress", False, 3, False),
        ("m4", "pending", False, 21, False),
        ("m5", "pending", False, 2, True),
        ("m6", "in_progress", False, -2, False),
    ]


def test_workspace_project_status(workspace_built):
    p1 = _row(workspace_built, "marts.fct_project_status", P1)
    assert p1["project_name"] == "Launch the podcast"
    assert p1["blocked_tasks"] == 1  # t5
    # t7 waits for t4 (todo) and for t5 (blocked); t1 is done; t6 is deleted; the t5 -> t4
    # edge was removed
    assert p1["open_dependencies"] == 2
    assert p1["next_milestone_title"] == "Episode 1 live"  # m5 is sooner but deleted
    assert p1["next_milestone_due_at"].isoformat() == "2026-03-12T17:00:00+00:00"
    assert p1["days_until_next_milestone"] == 3
    assert p1["recent_updates"] == [
        "2026-03-09: task 'Book the guest' updated",
        "2026-03-08: task 'Write show notes' moved from todo to done",
        "2026-03-07: task 'Buy microphone' deleted",
        "2026-03-06: task 'Edit episode 1' moved from todo to done",
        "2026-03-06: milestone 'Episode 1 live' moved from pending to in_progress",
    ]
    p2 = _row(workspace_built, "marts.fct_project_status", P2)
    assert p2["recent_updates"] == ["2026-02-27: project 'Empty project' created"]
    assert (p2["blocked_tasks"], p2["open_dependencies"], p2["next_milestone_title"]) == (
        0,
        0,
        None,
    )


def test_workspace_dim_dates(workspace_built):
    bounds = workspace_built.sql(
        "select min(day_date) as first_day, max(day_date) as last_day, count(*) as days "
        "from marts.dim_dates"
    ).to_dicts()[0]
    # from p2's creation (q2, older, was deleted before the pipeline ever saw it) to the 9th + 90
    assert (bounds["first_day"].isoformat(), bounds["last_day"].isoformat()) == (
        "2026-02-27",
        "2026-06-07",
    )
    assert bounds["days"] == 101


def test_status_command_prints_the_row_and_refuses_ambiguity(workspace_built, tmp_path):
    # the command opens the file read-only: give it a copy, the fixture keeps its connection
    con = workspace_built.con
    con.execute("checkpoint")
    ((source,),) = con.execute(
        "select path from duckdb_databases() where database_name = 'warehouse'"
    ).fetchall()
    db = tmp_path / "copy.duckdb"
    db.write_bytes(Path(source).read_bytes())
    runner = CliRunner()

    by_id = runner.invoke(main, ["status", P1, "--db", str(db)])
    assert by_id.exit_code == 0, by_id.output
    status = json.loads(by_id.stdout)
    assert (status["project_id"], status["completion_pct"], status["open_dependencies"]) == (
        P1,
        50.0,
        2,
    )
    assert status["next_milestone_due_at"] == "2026-03-12T17:00:00+00:00"
    assert status["recent_updates"][0] == "2026-03-09: task 'Book the guest' updated"

    by_name = runner.invoke(main, ["status", "EMPTY project", "--db", str(db)])
    assert by_name.exit_code == 0
    assert json.loads(by_name.stdout)["project_id"] == P2

    # "Launch the podcast" names p1, p3 (other case) and q1 (another account)
    ambiguous = runner.invoke(main, ["status", "launch the podcast", "--db", str(db)])
    assert ambiguous.exit_code == 2
    assert "matches 3 projects" in ambiguous.stderr
    assert all(project_id in ambiguous.stderr for project_id in (P1, P3, Q1))

    missing = runner.invoke(main, ["status", "podcast", "--db", str(db)])
    assert missing.exit_code == 2
    assert "no live project" in missing.stderr and P3 in missing.stderr

    deleted = runner.invoke(main, ["status", Q2, "--db", str(db)])
    assert deleted.exit_code == 2
