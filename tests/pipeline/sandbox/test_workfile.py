"""Workspace files: a hand-written history with exactly known answers, the dump/load round trip,
and the errors a bad file raises."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import pytest

from pipeline.sandbox import dump_workspace, generate_workspace, load_workspace, start_sandbox
from pipeline.sandbox.workfile import WorkspaceFileError
from tests.pipeline.sandbox.sandbox_helpers import (
    TINY,
    api_client,
    bodies_of,
    expected_bucket_ids,
    fails,
    get_truth,
    ok,
    route_spread,
)

PROJECT = "aaaaaaaa-0000-4000-8000-000000000001"
GOAL = "aaaaaaaa-0000-4000-8000-0000000000a1"
T_DONE = "aaaaaaaa-0000-4000-8000-000000000011"  # in progress, then done
T_REOPENED = "aaaaaaaa-0000-4000-8000-000000000012"  # done, then back in progress
T_DELETED = "aaaaaaaa-0000-4000-8000-000000000013"
T_SILENT = "aaaaaaaa-0000-4000-8000-000000000014"  # started by a change that left no log
T_OVERDUE = "aaaaaaaa-0000-4000-8000-000000000015"
T_BACKLOG = "aaaaaaaa-0000-4000-8000-000000000016"  # done after now (3 March)
T_SCHEDULED = "aaaaaaaa-0000-4000-8000-000000000017"
T_BLOCKED = "aaaaaaaa-0000-4000-8000-000000000018"
T_FUTURE = "aaaaaaaa-0000-4000-8000-000000000019"  # created after now (5 March)
M_MISSED = "aaaaaaaa-0000-4000-8000-000000000021"
M_PENDING = "aaaaaaaa-0000-4000-8000-000000000022"
M_COMPLETED = "aaaaaaaa-0000-4000-8000-000000000023"
M_IN_PROGRESS = "aaaaaaaa-0000-4000-8000-000000000024"
DUMP = "aaaaaaaa-0000-4000-8000-000000000031"


def ts(day: str, time: str = "00:00") -> str:
    """The API's form of a file timestamp: `ts("02-10", "12:00")`."""
    return f"2026-{day}T{time}:00.000000+00:00"


WORKSPACE = {
    "format": "buildos-sandbox-workspace/1",
    "now": "2026-03-02T00:00:00Z",
    "accounts": [
        {
            "name": "Demo",
            "projects": [
                {
                    "id": PROJECT,
                    "name": "Kitchen refit",
                    "state_key": "active",
                    "created_at": "2026-02-01T09:00:00Z",
                    "goals": [
                        {"id": GOAL, "name": "Usable kitchen", "created_at": "2026-02-01T09:10:00Z"}
                    ],
                    "milestones": [
                        {
                            "id": M_MISSED,
                            "title": "Tiles delivered",
                            "created_at": "2026-02-01T09:30:00Z",
                            "due_at": "2026-02-15T17:00:00Z",
                        },
                        {
                            "id": M_PENDING,
                            "title": "Kitchen usable",
                            "created_at": "2026-02-01T09:31:00Z",
                            "due_at": "2026-03-20T17:00:00Z",
                        },
                        {
                            "id": M_COMPLETED,
                            "title": "Plan approved",
                            "created_at": "2026-02-01T09:32:00Z",
                            "due_at": "2026-02-10T17:00:00Z",
                            "changes": [{"at": "2026-02-09T11:00:00Z", "state_key": "completed"}],
                        },
                        {
                            "id": M_IN_PROGRESS,
                            "title": "Cabinets in",
                            "created_at": "2026-02-01T09:33:00Z",
                            "due_at": "2026-02-20T17:00:00Z",
                            "changes": [{"at": "2026-02-18T08:00:00Z", "state_key": "in_progress"}],
                        },
                    ],
                    "tasks": [
                        {
                            "id": T_DONE,
                            "title": "Order tiles",
                            "priority": 1,
                            "created_at": "2026-02-01T10:00:00Z",
                            "due_at": "2026-02-20T17:00:00Z",
                            "changes": [
                                {"at": "2026-02-03T09:00:00Z", "state_key": "in_progress"},
                                {"at": "2026-02-10T12:00:00Z", "state_key": "done"},
                            ],
                        },
                        {
                            "id": T_REOPENED,
                            "title": "Fit cabinets",
                            "created_at": "2026-02-01T10:01:00Z",
                            "changes": [
                                {"at": "2026-02-04T09:00:00Z", "state_key": "in_progress"},
                                {"at": "2026-02-12T15:00:00Z", "state_key": "done"},
                                {"at": "2026-02-14T09:00:00Z", "state_key": "in_progress"},
                            ],
                        },
                        {
                            "id": T_DELETED,
                            "title": "Old idea",
                            "created_at": "2026-02-01T10:02:00Z",
                            "changes": [{"at": "2026-02-05T08:00:00Z", "deleted": True}],
                        },
                        {
                            "id": T_SILENT,
                            "title": "Paint walls",
                            "created_at": "2026-02-01T10:03:00Z",
                            "changes": [
                                {
                                    "at": "2026-02-06T10:00:00Z",
                                    "state_key": "in_progress",
                                    "logged": False,
                                }
                            ],
                        },
                        {
                            "id": T_OVERDUE,
                            "title": "Book electrician",
                            "created_at": "2026-02-01T10:04:00Z",
                            "due_at": "2026-02-25T17:00:00Z",
                        },
                        {
                            "id": T_BACKLOG,
                            "title": "Choose handles",
                            "created_at": "2026-02-01T10:05:00Z",
                            "changes": [{"at": "2026-03-03T10:00:00Z", "state_key": "done"}],
                        },
                        {
                            "id": T_SCHEDULED,
                            "title": "Install lights",
                            "created_at": "2026-02-01T10:06:00Z",
                            "start_at": "2026-03-10T09:00:00Z",
                        },
                        {
                            "id": T_BLOCKED,
                            "title": "Fix leak",
                            "created_at": "2026-02-01T10:07:00Z",
                            "changes": [{"at": "2026-02-08T16:00:00Z", "state_key": "blocked"}],
                        },
                        {
                            "id": T_FUTURE,
                            "title": "Seal worktop",
                            "created_at": "2026-03-05T10:00:00Z",
                        },
                    ],
                    "edges": [
                        {"src_id": T_DONE, "dst_id": GOAL, "rel": "supports_goal"},
                        {
                            "src_id": T_OVERDUE,
                            "dst_id": T_BLOCKED,
                            "rel": "depends_on",
                            "removed_at": "2026-02-20T10:00:00Z",
                        },
                    ],
                    "events": [
                        {
                            "title": "Work on: Fit cabinets",
                            "created_at": "2026-02-03T08:00:00Z",
                            "owner_entity_type": "task",
                            "owner_entity_id": T_REOPENED,
                            "type_key": "event.task_work",
                            "start_at": "2026-02-04T09:00:00Z",
                            "end_at": "2026-02-04T11:00:00Z",
                        }
                    ],
                }
            ],
            "braindumps": [
                {
                    "id": DUMP,
                    "title": "Kitchen",
                    "content": "Tiles, cabinets, lights.",
                    "created_at": "2026-02-01T08:58:00Z",
                    "processed_at": "2026-02-01T08:59:00Z",
                }
            ],
            "briefs": [{"brief_date": "2026-02-02", "created_at": "2026-02-02T06:00:00Z"}],
        }
    ],
}


def _write(tmp_path: Path, data: dict, name: str = "workspace.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(data))
    return path


@pytest.fixture
def kitchen(sandbox_factory, tmp_path):
    return sandbox_factory(None, workspace_file=_write(tmp_path, WORKSPACE))


def test_a_hand_written_workspace_serves_its_known_answers(kitchen):
    with api_client(kitchen) as client:
        listed = ok(client.get("/api/projects"))
        assert [p["id"] for p in listed["projects"]] == [PROJECT]

        bundle = ok(client.get(f"/api/onto/projects/{PROJECT}"))
        tasks = {t["id"]: t for t in bundle["tasks"]}
        assert set(tasks) == {
            T_DONE,
            T_REOPENED,
            T_SILENT,
            T_OVERDUE,
            T_BACKLOG,
            T_SCHEDULED,
            T_BLOCKED,
        }
        done = tasks[T_DONE]
        assert (done["state_key"], done["completed_at"]) == ("done", ts("02-10", "12:00"))
        assert done["updated_at"] == ts("02-10", "12:00")
        assert done["priority"] == 1
        assert done["due_at"] == ts("02-20", "17:00")
        # Reopening clears completed_at.
        reopened = tasks[T_REOPENED]
        assert (reopened["state_key"], reopened["completed_at"]) == ("in_progress", None)
        assert tasks[T_SILENT]["state_key"] == "in_progress"
        assert tasks[T_SILENT]["updated_at"] == ts("02-06", "10:00")
        assert tasks[T_BACKLOG]["state_key"] == "todo"  # its change is after now
        assert tasks[T_BLOCKED]["state_key"] == "blocked"
        assert tasks[T_OVERDUE]["priority"] == 3  # the default

        archived = ok(client.get(f"/api/onto/projects/{PROJECT}/tasks/archived"))
        assert [t["id"] for t in archived["tasks"]] == [T_DELETED]
        assert archived["tasks"][0]["deleted_at"] == ts("02-05", "08:00")

        buckets = {}
        for bucket in ("backlog", "in_progress", "scheduled", "overdue", "blocked", "done"):
            data = ok(client.get(f"/api/onto/projects/{PROJECT}/tasks", params={"bucket": bucket}))
            buckets[bucket] = {t["id"] for t in data["tasks"]}
        assert buckets == {
            "backlog": {T_BACKLOG},
            "in_progress": {T_REOPENED, T_SILENT},
            "scheduled": {T_SCHEDULED},
            "overdue": {T_OVERDUE},
            "blocked": {T_BLOCKED},
            "done": {T_DONE},
        }
        later = ok(
            client.get(
                f"/api/onto/projects/{PROJECT}/tasks",
                params={"bucket": "backlog", "asOf": "2026-03-15T00:00:00Z"},
            )
        )
        assert {t["id"] for t in later["tasks"]} == {T_BACKLOG, T_SCHEDULED}

        milestones = {m["id"]: m for m in bundle["milestones"]}
        assert milestones[M_MISSED]["state_key"] == "missed"  # past due, not done or going
        assert milestones[M_PENDING]["state_key"] == "pending"
        assert milestones[M_COMPLETED]["state_key"] == "completed"
        assert milestones[M_COMPLETED]["completed_at"] == ts("02-09", "11:00")
        assert milestones[M_IN_PROGRESS]["state_key"] == "in_progress"
        assert [g["id"] for g in bundle["goals"]] == [GOAL]


def test_a_hand_written_workspace_logs_only_logged_changes(kitchen):
    with api_client(kitchen) as client:
        data = ok(client.get(f"/api/onto/projects/{PROJECT}/logs", params={"limit": 50}))
    # project 1 + goal 1 + milestones 4 created, 2 changed + tasks 8 created (not the future
    # one), changes: 2 + 3 + 1 deletion + 1 blocked (the silent one left none).
    assert data["total"] == 23 == len(data["logs"])
    by_entity: dict[str, list[dict]] = {}
    for log in data["logs"]:
        by_entity.setdefault(log["entity_id"], []).append(log)
    assert [log["action"] for log in by_entity[T_SILENT]] == ["created"]
    assert T_FUTURE not in by_entity
    reopened = [
        (log["action"], (log["before_data"] or {}).get("state_key"), log["after_data"]["state_key"])
        for log in reversed(by_entity[T_REOPENED])
    ]
    assert reopened == [
        ("created", None, "todo"),
        ("updated", "todo", "in_progress"),
        ("updated", "in_progress", "done"),
        ("updated", "done", "in_progress"),
    ]
    deleted = by_entity[T_DELETED][0]
    assert (deleted["action"], deleted["after_data"]) == ("deleted", None)
    assert deleted["created_at"] == ts("02-05", "08:00")
    assert data["logs"][0]["created_at"] == ts("02-18", "08:00")  # newest first


def test_a_hand_written_workspace_edges_events_and_dumps(kitchen):
    with api_client(kitchen) as client:
        edges = ok(client.get("/api/onto/edges", params={"project_id": PROJECT}))["edges"]
        relations = {(e["src_id"], e["rel"], e["dst_id"]) for e in edges}
        assert (T_DONE, "supports_goal", GOAL) in relations
        assert (T_OVERDUE, "depends_on", T_BLOCKED) not in relations  # removed before now
        assert (PROJECT, "has_task", T_FUTURE) not in relations  # not created yet
        assert (PROJECT, "has_task", T_OVERDUE) in relations

        events = ok(client.get(f"/api/onto/projects/{PROJECT}/events"))["events"]
        assert [(e["owner_entity_id"], e["start_at"]) for e in events] == [
            (T_REOPENED, ts("02-04", "09:00"))
        ]
        dump = ok(client.get(f"/api/onto/braindumps/{DUMP}"))["braindump"]
        assert dump["content"] == "Tiles, cabinets, lights."
        assert dump["processed_at"] == ts("02-01", "08:59")
        briefs = ok(client.get("/api/daily-briefs/history"))["briefs"]
        assert [b["brief_date"] for b in briefs] == ["2026-02-02"]


def test_the_edges_of_a_deleted_task_go_with_it(kitchen):
    """The app removes a deleted task's edges (edges have no soft delete); the simulator does so
    (generate.py), and a file workspace's automatic has_task edge must follow the same rule."""
    with api_client(kitchen) as client:
        edges = ok(client.get("/api/onto/edges", params={"project_id": PROJECT}))["edges"]
    assert [e for e in edges if T_DELETED in (e["src_id"], e["dst_id"])] == []


def test_a_hand_written_workspace_moves_with_the_clock(kitchen):
    fails(httpx.post(f"{kitchen.base_url}/__sandbox/clock/advance", json={"days": 31}), 409)
    ok(httpx.post(f"{kitchen.base_url}/__sandbox/clock/advance", json={"days": 4}))
    with api_client(kitchen) as client:
        tasks = {t["id"]: t for t in ok(client.get(f"/api/onto/projects/{PROJECT}"))["tasks"]}
        assert T_FUTURE in tasks
        assert tasks[T_BACKLOG]["state_key"] == "done"
        assert tasks[T_BACKLOG]["completed_at"] == ts("03-03", "10:00")
        assert expected_bucket_ids(list(tasks.values()), datetime(2026, 3, 6, tzinfo=UTC))[
            "backlog"
        ] == {T_FUTURE}
    truth = get_truth(kitchen)["accounts"][0]
    task = next(t for t in truth["tasks"] if t["id"] == T_BACKLOG)
    assert [i["state"] for i in task["state_intervals"]] == ["todo", "done"]


def test_a_dumped_workspace_loads_back_byte_identical(sandbox_factory, tmp_path):
    path = _write(tmp_path, dump_workspace(generate_workspace(TINY)), "dump.json")
    generated = sandbox_factory(TINY)
    loaded = sandbox_factory(None, workspace_file=path)
    with api_client(generated) as client:
        paths = route_spread(client)
    assert len(paths) > 30
    assert bodies_of(generated, paths) == bodies_of(loaded, paths)


def test_a_dumped_workspace_loads_back_with_equal_values(sandbox_factory, tmp_path):
    """The same round trip compared as parsed JSON: separates wrong values from key order."""
    path = _write(tmp_path, dump_workspace(generate_workspace(TINY)), "dump.json")
    generated = sandbox_factory(TINY)
    loaded = sandbox_factory(None, workspace_file=path)
    with api_client(generated) as client:
        paths = route_spread(client)
    parsed = [[orjson.loads(b) for b in bodies_of(s, paths)] for s in (generated, loaded)]
    assert parsed[0] == parsed[1]


def _broken(change) -> dict:
    data = copy.deepcopy(WORKSPACE)
    change(data["accounts"][0]["projects"][0])
    return data


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda p: p["tasks"][1].pop("created_at"), ["tasks[1]", "created_at"]),
        (lambda p: p["tasks"][4].update(due_at="next tuesday"), [T_OVERDUE, "due_at"]),
        (lambda p: p["tasks"][0]["changes"][1].pop("at"), [T_DONE, "changes[1]", "at"]),
        (
            lambda p: p["tasks"][0]["changes"][0].update(at="soon"),
            [T_DONE, "changes[0]", "at"],
        ),
        (lambda p: p["milestones"][2].update(created_at=20260201), ["milestones[2]", "created_at"]),
        (lambda p: p["edges"][0].pop("rel"), ["edges[0]", "rel"]),
        (lambda p: p["edges"][0].update(dst_id="nobody"), ["edges[0]", "nobody"]),
    ],
)
def test_a_bad_file_names_the_entity_and_field(tmp_path, edit, expected):
    path = _write(tmp_path, _broken(edit))
    with pytest.raises(WorkspaceFileError) as raised:
        load_workspace(path)
    for part in expected:
        assert part in str(raised.value)
    with pytest.raises(WorkspaceFileError):
        start_sandbox(workspace_file=path)


def test_a_file_that_is_not_a_workspace_is_rejected(tmp_path):
    not_json = tmp_path / "broken.json"
    not_json.write_text("{ not json")
    with pytest.raises(WorkspaceFileError, match="not valid JSON"):
        load_workspace(not_json)
    for data, message in (
        ({"accounts": [{}]}, "now"),
        ({"now": "2026-03-02T00:00:00Z", "accounts": []}, "at least one account"),
        ({"format": "other/9", "now": "2026-03-02T00:00:00Z", "accounts": [{}]}, "format"),
    ):
        with pytest.raises(WorkspaceFileError, match=message):
            load_workspace(_write(tmp_path, data, "bad.json"))


def test_a_task_state_the_api_never_serves_is_rejected(tmp_path):
    """Tasks have no `cancelled` state in the real API (the contract, "task"): a file that gives
    one would let the pipeline pass tests against data BuildOS cannot produce."""
    path = _write(tmp_path, _broken(lambda p: p["tasks"][4].update(state_key="cancelled")))
    with pytest.raises(WorkspaceFileError) as raised:
        load_workspace(path)
    assert T_OVERDUE in str(raised.value) and "state_key" in str(raised.value)
