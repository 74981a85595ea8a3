"""A full sync against the sandbox lands every entity the API serves, checked against the
sandbox's ground truth (never against the pipeline's own output)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from pipeline.buildos.records import ENTITIES
from tests.pipeline.buildos.sync_helpers import rows, simulation, sync_all, truth

CHILD_GROUPS = ("goals", "plans", "milestones", "documents")
LOGGED_GROUPS = ("projects", "tasks", "goals", "plans", "milestones", "documents")


def _ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _ids(db, table: str, account_id: str) -> set[str]:
    return {r[0] for r in rows(db, f"select id from {table} where account_id = ?", [account_id])}


def _expected_logs(account: dict, live: set[str]) -> Counter:
    """(entity_id, created_at, action) of every log the app wrote for the live projects:
    logged creations and logged changes of projects and their children (never edges)."""
    expected: Counter = Counter()
    for group in LOGGED_GROUPS:
        for entity in account[group]:
            if entity["project_id"] not in live:
                continue
            if entity["created_logged"]:
                expected[(entity["id"], _ts(entity["created_at"]), "created")] += 1
            for change in entity["changes"]:
                if change["logged"]:
                    action = "deleted" if change["fields"].get("deleted_at") else "updated"
                    expected[(entity["id"], _ts(change["at"]), action)] += 1
    return expected


def assert_matches_truth(db, account: dict, now: datetime) -> Counter:
    """Compare one account's landed tables with its truth; returns what the scenario held
    (deleted projects and tasks, removed edges, missed milestones) so the test can check that
    the comparison covered them."""
    account_id = account["account_id"]
    live = {p["id"] for p in account["projects"] if p["deleted_at"] is None}
    held: Counter = Counter(deleted_projects=len(account["projects"]) - len(live))

    assert _ids(db, "buildos.projects", account_id) == live

    tasks = {t["id"]: t for t in account["tasks"] if t["project_id"] in live}
    held["deleted_tasks"] = sum(1 for t in tasks.values() if t["deleted_at"])
    landed = {
        r[0]: r[1:]
        for r in rows(
            db,
            "select id, project_id, state_key, title, priority, due_at, completed_at, "
            "deleted_at from buildos.tasks where account_id = ?",
            [account_id],
        )
    }
    assert landed.keys() == tasks.keys()
    for task_id, task in tasks.items():
        row = task["row"]
        assert landed[task_id] == (
            task["project_id"],
            row["state_key"],
            row["title"],
            row["priority"],
            _ts(row["due_at"]),
            _ts(row["completed_at"]),
            _ts(task["deleted_at"]),
        ), task_id

    for group in CHILD_GROUPS:
        expected = {
            e["id"] for e in account[group] if e["project_id"] in live and e["deleted_at"] is None
        }
        assert _ids(db, f"buildos.{group}", account_id) == expected, group

    milestones = dict(
        rows(db, "select id, state_key from buildos.milestones where account_id = ?", [account_id])
    )
    for milestone in account["milestones"]:
        if milestone["id"] not in milestones:
            continue
        row = milestone["row"]
        overdue = row["due_at"] is not None and _ts(row["due_at"]) < now
        shown = (
            "missed"
            if overdue and row["state_key"] not in ("completed", "in_progress")
            else row["state_key"]
        )
        assert milestones[milestone["id"]] == shown, milestone["id"]
        held["missed_milestones"] += shown == "missed" and row["state_key"] == "pending"

    edges = {e["id"] for e in account["edges"] if e["project_id"] in live and not e["deleted_at"]}
    assert _ids(db, "buildos.edges", account_id) == edges
    held["removed_edges"] = sum(1 for e in account["edges"] if e["deleted_at"])
    events = {
        e["id"]
        for e in account["events"]
        if e["project_id"] in live and e["row"]["deleted_at"] is None
    }
    assert _ids(db, "buildos.events", account_id) == events
    assert _ids(db, "buildos.braindumps", account_id) == {b["id"] for b in account["braindumps"]}
    assert _ids(db, "buildos.briefs", account_id) == {b["id"] for b in account["briefs"]}

    logs = Counter(
        rows(
            db,
            "select entity_id, created_at, action from buildos.logs where account_id = ?",
            [account_id],
        )
    )
    assert logs == _expected_logs(account, live)
    held["logs"] = logs.total()
    return held


@pytest.mark.parametrize(
    ("options", "must_hold"),
    [
        pytest.param(simulation(1), (), id="seed1-2x4x15"),
        pytest.param(simulation(2), ("deleted_projects", "missed_milestones"), id="seed2-2x4x15"),
        pytest.param(simulation(3), ("missed_milestones",), id="seed3-2x4x15"),
        pytest.param(
            simulation(3, accounts=3, projects=12, tasks=60, days=90),
            ("deleted_projects", "missed_milestones"),
            id="seed3-3x12x60",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_full_sync_lands_every_entity_of_the_truth(sandbox_factory, tmp_path, options, must_hold):
    server = sandbox_factory(options)
    db = tmp_path / "w.duckdb"

    results = sync_all(server, db, full=True)

    world = truth(server)
    now = datetime.fromisoformat(world["now"])
    assert [r.account_id for r in results] == [a["account_id"] for a in world["accounts"]]
    assert {r.mode for r in results} == {"full"}
    assert all(r.quarantined == 0 for r in results)
    held: Counter = Counter()
    for account in world["accounts"]:
        held += assert_matches_truth(db, account, now)
    # The comparison covered the cases that matter, not just the easy rows.
    for case in ("deleted_tasks", "removed_edges", "logs", *must_hold):
        assert held[case] > 0, (case, held)
    # Every row belongs to one of the synced accounts, and nothing is marked removed.
    account_ids = {a["account_id"] for a in world["accounts"]}
    for name in ENTITIES:
        landed = dict(rows(db, f"select account_id, count(*) from buildos.{name} group by all"))
        assert set(landed) <= account_ids, name
        removed = rows(db, f"select count(*) from buildos.{name} where _removed_at is not null")
        assert removed == [(0,)], name
