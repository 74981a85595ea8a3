"""Every read route of the sandbox against the API contract: envelope, fields, limits, paging,
not-found rules, task buckets and project status filters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import orjson
import pytest

from pipeline.sandbox import SandboxServer, start_sandbox
from tests.pipeline.sandbox.sandbox_helpers import (
    ALL_PROJECT_STATUSES,
    BRAINDUMP_DETAIL_EXTRAS,
    BRAINDUMP_LIST_COLUMNS,
    BRIEF_COLUMNS,
    BUNDLE_KEYS,
    BUNDLE_TASK_EXTRAS,
    DOCUMENT_COLUMNS,
    EDGE_COLUMNS,
    EDGE_RELS,
    EVENT_COLUMNS,
    GOAL_COLUMNS,
    LOG_COLUMNS,
    MILESTONE_COLUMNS,
    NOW,
    NOW_ISO,
    PLAN_COLUMNS,
    PROJECT_COLUMNS,
    PROJECT_LIST_ITEM_COLUMNS,
    TASK_BUCKETS,
    TASK_COLUMNS,
    api_client,
    assert_timestamp,
    expected_bucket_ids,
    fails,
    get_accounts,
    get_truth,
    live_project_ids,
    ok,
    parse,
    walk_offset,
)

BIG_PROJECT_ID = "11111111-2222-4333-8444-555555555555"


@pytest.fixture(scope="module")
def truth(shared) -> dict:
    return get_truth(shared)


@pytest.fixture(scope="module")
def client(shared) -> Iterator[httpx.Client]:
    with api_client(shared, 0) as c:
        yield c


@pytest.fixture(scope="module")
def bundles(client, truth) -> dict[str, dict]:
    """Account 0's bundles by project id, fetched once for the module."""
    return {
        project_id: ok(client.get(f"/api/onto/projects/{project_id}"))
        for project_id in live_project_ids(truth["accounts"][0])
    }


def _iso(at) -> str:
    return at.isoformat()


def big_workspace() -> dict:
    """A file workspace with more rows than every clamp: 130 projects, 150 backlog tasks and 250
    deleted tasks in one project, 1,100 events, 130 brain dumps, 130 briefs."""
    start = NOW - timedelta(days=60)
    big = {
        "id": BIG_PROJECT_ID,
        "name": "Big project",
        "state_key": "active",
        "created_at": _iso(start),
        "tasks": [
            {"title": f"Backlog {n}", "created_at": _iso(start + timedelta(hours=1, seconds=n))}
            for n in range(150)
        ]
        + [
            {
                "title": f"Gone {n}",
                "created_at": _iso(start + timedelta(hours=2, seconds=n)),
                "changes": [{"at": _iso(start + timedelta(days=2, seconds=n)), "deleted": True}],
            }
            for n in range(250)
        ],
        "events": [
            {
                "title": f"Block {n}",
                "created_at": _iso(start),
                "start_at": _iso(start + timedelta(hours=n)),
                "end_at": _iso(start + timedelta(hours=n, minutes=30)),
            }
            for n in range(1_100)
        ],
    }
    others = [
        {"name": f"Project {n}", "created_at": _iso(start + timedelta(days=1, minutes=n))}
        for n in range(129)
    ]
    braindumps = [
        {
            "title": f"Dump {n}",
            "content": f"thought {n}",
            "created_at": _iso(start + timedelta(hours=n)),
        }
        for n in range(130)
    ]
    briefs = [
        {
            "brief_date": (NOW - timedelta(days=n + 1)).date().isoformat(),
            "created_at": _iso(NOW - timedelta(days=n + 1) + timedelta(hours=6)),
        }
        for n in range(130)
    ]
    return {
        "format": "buildos-sandbox-workspace/1",
        "now": NOW_ISO,
        "accounts": [{"projects": [big, *others], "braindumps": braindumps, "briefs": briefs}],
    }


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Iterator[SandboxServer]:
    path = tmp_path_factory.mktemp("big") / "workspace.json"
    path.write_bytes(orjson.dumps(big_workspace()))
    server = start_sandbox(workspace_file=path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def big_client(big) -> Iterator[httpx.Client]:
    with api_client(big, 0) as c:
        yield c


def _account_truth(truth: dict, index: int) -> dict:
    return truth["accounts"][index]


def _project_routes(project_id: str) -> list[tuple[str, dict]]:
    return [
        (f"/api/onto/projects/{project_id}", {}),
        (f"/api/onto/projects/{project_id}/tasks", {"bucket": "done"}),
        (f"/api/onto/projects/{project_id}/tasks/archived", {}),
        (f"/api/onto/projects/{project_id}/logs", {}),
        (f"/api/onto/projects/{project_id}/events", {}),
        ("/api/onto/edges", {"project_id": project_id}),
    ]


# -- envelope -----------------------------------------------------------------------------


def test_every_read_route_answers_in_the_success_envelope(client, truth):
    project_id = live_project_ids(_account_truth(truth, 0))[0]
    dump_id = _account_truth(truth, 0)["braindumps"][0]["id"]
    routes = [
        ("/api/projects", {}),
        *_project_routes(project_id),
        ("/api/onto/braindumps", {}),
        (f"/api/onto/braindumps/{dump_id}", {}),
        ("/api/daily-briefs/history", {}),
        ("/api/calendar/items", {"start": "2026-02-01", "end": "2026-03-01"}),
    ]
    for path, params in routes:
        response = client.get(path, params=params)
        assert response.headers["content-type"] == "application/json"
        ok(response)
        # The timestamp is the simulated clock, not the wall clock.
        assert response.json()["timestamp"] == NOW_ISO


def test_errors_answer_in_the_error_envelope(client):
    fails(client.get("/api/no/such/route"), 404, "NOT_FOUND")
    fails(client.post("/api/projects", json={}), 405, "INVALID_REQUEST")
    fails(client.get("/api/onto/projects/not-a-uuid"), 400, "INVALID_REQUEST")
    fails(client.get("/api/onto/edges"), 400, "INVALID_REQUEST")
    fails(client.get("/api/calendar/items", params={"start": "2026-02-01"}), 400)


# -- projects -----------------------------------------------------------------------------


def test_project_list_items_have_the_contract_fields(client, truth, bundles):
    rows = {p["id"]: p["row"] for p in _account_truth(truth, 0)["projects"]}
    data = ok(client.get("/api/projects", params={"status": ALL_PROJECT_STATUSES}))
    assert set(data) == {"projects", "total", "page", "limit", "statuses"}
    assert data["projects"]
    for item in data["projects"]:
        assert set(item) >= PROJECT_LIST_ITEM_COLUMNS, sorted(item)
        assert "task_count" not in item
        assert item["state_key"] == rows[item["id"]]["state_key"]
        assert item["name"] == rows[item["id"]]["name"]
        assert item["updated_at"] == rows[item["id"]]["updated_at"]
        assert_timestamp(item["created_at"])

    counted = ok(
        client.get(
            "/api/projects", params={"status": ALL_PROJECT_STATUSES, "include_counts": "true"}
        )
    )
    for item in counted["projects"]:
        assert item["task_count"] == len(bundles[item["id"]]["tasks"])


def test_project_list_status_filters(shared, truth):
    states_seen: set[str] = set()
    for index in (0, 1):
        live = [
            p["row"] for p in _account_truth(truth, index)["projects"] if p["deleted_at"] is None
        ]
        by_state: dict[str, set[str]] = {}
        for row in live:
            by_state.setdefault(row["state_key"], set()).add(row["id"])
        states_seen |= set(by_state)

        with api_client(shared, index) as c:

            def ids(c=c, **params) -> set[str]:
                data = ok(c.get("/api/projects", params={"limit": 100, **params}))
                assert data["total"] == len(data["projects"])
                return {p["id"] for p in data["projects"]}

            default = ids()
            assert default == by_state.get("planning", set()) | by_state.get("active", set())
            assert ids(status="active") == default
            assert ids(status="archived") == by_state.get("cancelled", set())
            assert ids(status=ALL_PROJECT_STATUSES) == {row["id"] for row in live}
            assert ids(status="paused,completed") == by_state.get("paused", set()) | by_state.get(
                "completed", set()
            )
            echoed = ok(c.get("/api/projects", params={"status": "paused,completed"}))
            assert echoed["statuses"] == ["paused", "completed"]
    # The filters above only prove something if every state occurs in the fixture.
    assert states_seen == {"planning", "active", "paused", "completed", "cancelled"}


def test_project_list_pages_return_every_live_project_once(client, truth):
    live = live_project_ids(_account_truth(truth, 0))
    seen: list[str] = []
    page = 1
    while True:
        data = ok(
            client.get(
                "/api/projects", params={"status": ALL_PROJECT_STATUSES, "limit": 3, "page": page}
            )
        )
        assert data["page"] == page and data["limit"] == 3 and data["total"] == len(live)
        if not data["projects"]:
            break
        assert len(data["projects"]) <= 3
        seen.extend(p["id"] for p in data["projects"])
        page += 1
    assert page == -(-len(live) // 3) + 1
    assert len(seen) == len(set(seen)) == len(live)
    assert set(seen) == set(live)


# -- the bundle ---------------------------------------------------------------------------


def test_bundle_has_every_key_and_contract_columns(bundles, truth):
    account = _account_truth(truth, 0)
    stored_milestones = {m["id"]: m["row"] for m in account["milestones"]}
    seen_kinds = set()
    assert set(bundles) == set(live_project_ids(account))
    for project_id, bundle in bundles.items():
        assert set(bundle) == BUNDLE_KEYS
        assert set(bundle["project"]) == PROJECT_COLUMNS
        assert bundle["project"]["id"] == project_id
        assert bundle["project"]["deleted_at"] is None
        for key in ("requirements", "images", "sources", "risks", "metrics"):
            assert bundle[key] == []
        assert bundle["context_document"] is None
        columns = {
            "tasks": TASK_COLUMNS | BUNDLE_TASK_EXTRAS,
            "goals": GOAL_COLUMNS,
            "plans": PLAN_COLUMNS,
            "milestones": MILESTONE_COLUMNS,
            "documents": DOCUMENT_COLUMNS,
        }
        for key, expected in columns.items():
            for row in bundle[key]:
                seen_kinds.add(key)
                assert set(row) == expected, (key, sorted(set(row) ^ expected))
                assert row["project_id"] == project_id
                assert row["deleted_at"] is None  # child rows exclude soft-deleted ones
        for task in bundle["tasks"]:
            assert task["state_key"] in {"todo", "in_progress", "blocked", "done"}
            assert task["priority"] in {1, 2, 3, 4, 5}
            assert isinstance(task["assignees"], list)
            for assignee in task["assignees"]:
                assert set(assignee) == {"actor_id", "name"}
            assert isinstance(task["last_changed_by_actor_id"], str)
            assert (task["completed_at"] is not None) == (task["state_key"] == "done")
        for goal in bundle["goals"]:
            assert goal["state_key"] in {"draft", "active", "achieved", "abandoned"}
            assert (goal["completed_at"] is not None) == (goal["state_key"] == "achieved")
        for plan in bundle["plans"]:
            assert plan["state_key"] in {"draft", "active", "completed"}
        for milestone in bundle["milestones"]:
            stored = stored_milestones[milestone["id"]]["state_key"]
            past_due = milestone["due_at"] is not None and parse(milestone["due_at"]) < NOW
            if past_due and stored not in ("completed", "in_progress"):
                assert milestone["state_key"] == "missed"
            else:
                assert milestone["state_key"] == stored
            assert (milestone["completed_at"] is not None) == (stored == "completed")
    assert seen_kinds == {"tasks", "goals", "plans", "milestones", "documents"}


# -- tasks buckets ------------------------------------------------------------------------


def test_task_buckets_follow_the_rules(client, bundles):
    nonempty = set()
    for project_id, bundle in bundles.items():
        tasks = bundle["tasks"]
        expected = expected_bucket_ids(tasks, NOW)
        served = {}
        for bucket in TASK_BUCKETS:
            data = ok(
                client.get(
                    f"/api/onto/projects/{project_id}/tasks",
                    params={"bucket": bucket, "limit": 100},
                )
            )
            assert set(data) == {"bucket", "tasks", "total", "hasMore", "offset", "nextOffset"}
            assert data["bucket"] == bucket and data["hasMore"] is False
            assert data["total"] == len(data["tasks"])
            for row in data["tasks"]:
                assert set(row) == TASK_COLUMNS | BUNDLE_TASK_EXTRAS
            served[bucket] = {row["id"] for row in data["tasks"]}
            assert len(served[bucket]) == len(data["tasks"])
            assert served[bucket] == expected[bucket], (project_id, bucket)
            if served[bucket]:
                nonempty.add(bucket)
        # The buckets split the live tasks: every task is in exactly one of them.
        assert sum(len(ids) for ids in served.values()) == len(tasks)
        assert set().union(*served.values()) == {t["id"] for t in tasks}
    assert nonempty >= {"backlog", "in_progress", "scheduled", "overdue", "done"}


def test_task_bucket_pages_return_every_row_once(client, bundles):
    project_id, bundle = max(bundles.items(), key=lambda item: len(item[1]["tasks"]))
    expected = expected_bucket_ids(bundle["tasks"], NOW)
    bucket = max(expected, key=lambda b: len(expected[b]))
    assert len(expected[bucket]) > 12
    rows = walk_offset(client, f"/api/onto/projects/{project_id}/tasks", "tasks", 4, bucket=bucket)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), "a row was served twice while paging"
    assert set(ids) == expected[bucket]


def test_as_of_moves_tasks_between_buckets(client, bundles):
    changed = 0
    largest = sorted(bundles, key=lambda p: len(bundles[p]["tasks"]), reverse=True)[:3]
    for project_id in largest:
        tasks = bundles[project_id]["tasks"]
        at_now = expected_bucket_ids(tasks, NOW)
        for as_of in (NOW - timedelta(days=45), NOW + timedelta(days=60)):
            expected = expected_bucket_ids(tasks, as_of)
            for bucket in TASK_BUCKETS:
                data = ok(
                    client.get(
                        f"/api/onto/projects/{project_id}/tasks",
                        params={"bucket": bucket, "limit": 100, "asOf": as_of.isoformat()},
                    )
                )
                assert {r["id"] for r in data["tasks"]} == expected[bucket], (bucket, as_of)
                changed += expected[bucket] != at_now[bucket]
    assert changed > 0, "asOf never changed a bucket: the test data proves nothing"


def test_tasks_route_rejects_a_bad_bucket_or_as_of(client, truth):
    project_id = live_project_ids(_account_truth(truth, 0))[0]
    path = f"/api/onto/projects/{project_id}/tasks"
    fails(client.get(path), 400, "INVALID_REQUEST")
    fails(client.get(path, params={"bucket": "all"}), 400, "INVALID_REQUEST")
    fails(client.get(path, params={"bucket": "done", "asOf": "yesterday"}), 400, "INVALID_REQUEST")


def test_archived_tasks_are_soft_deleted_rows(client, truth):
    account = _account_truth(truth, 0)
    total = 0
    for project_id in live_project_ids(account):
        first = ok(client.get(f"/api/onto/projects/{project_id}/tasks/archived"))
        assert {"tasks", "total", "hasMore"} <= set(first)
        rows = walk_offset(client, f"/api/onto/projects/{project_id}/tasks/archived", "tasks", 3)
        for row in rows:
            assert set(row) == TASK_COLUMNS | BUNDLE_TASK_EXTRAS
            assert row["deleted_at"] is not None
            assert row["project_id"] == project_id
        total += len(rows)
    assert total > 0, "the fixture must hold deleted tasks"


# -- logs, edges, events ------------------------------------------------------------------


def test_logs_shape_order_and_snapshots(client, truth):
    account = _account_truth(truth, 0)
    actions = set()
    for project_id in live_project_ids(account):
        first = ok(client.get(f"/api/onto/projects/{project_id}/logs"))
        assert set(first) == {"logs", "total", "hasMore"}
        assert len(first["logs"]) == min(10, first["total"])  # the default limit is 10
        assert first["hasMore"] == (first["total"] > 10)
        logs = walk_offset(client, f"/api/onto/projects/{project_id}/logs", "logs", 50)
        assert len(logs) == first["total"]
        assert len({log["id"] for log in logs}) == len(logs)
        stamps = [parse(log["created_at"]) for log in logs]
        assert stamps == sorted(stamps, reverse=True), "logs must be newest first"
        for log in logs:
            assert set(log) == LOG_COLUMNS
            assert log["project_id"] == project_id
            assert log["entity_type"] in {
                "project",
                "task",
                "goal",
                "plan",
                "milestone",
                "document",
            }
            assert log["action"] in {"created", "updated", "deleted"}
            assert log["changed_by"] == account["account_id"]
            actions.add(log["action"])
            if log["entity_type"] != "task":
                continue
            if log["action"] == "created":
                assert log["before_data"] is None
                assert set(log["after_data"]) == {
                    "title",
                    "type_key",
                    "state_key",
                    "start_at",
                    "due_at",
                }
            elif log["action"] == "updated":
                fields = {"title", "state_key", "start_at", "due_at", "props"}
                assert set(log["before_data"]) == fields
                assert set(log["after_data"]) == fields
    assert actions == {"created", "updated", "deleted"}


def test_log_pages_return_every_row_once(client, bundles):
    project_id = next(iter(bundles))
    everything = ok(client.get(f"/api/onto/projects/{project_id}/logs", params={"limit": 50}))
    rows = walk_offset(client, f"/api/onto/projects/{project_id}/logs", "logs", 17)
    assert len(rows) == everything["total"] == len({r["id"] for r in rows})
    assert rows[:50] == everything["logs"]


def test_edges_shape_and_ends(client, bundles):
    for project_id, bundle in bundles.items():
        data = ok(client.get("/api/onto/edges", params={"project_id": project_id}))
        assert set(data) == {"edges"}
        entities = {project_id} | {
            row["id"]
            for key in ("tasks", "goals", "plans", "milestones", "documents")
            for row in bundle[key]
        }
        relations = set()
        for edge in data["edges"]:
            assert set(edge) == EDGE_COLUMNS
            assert edge["project_id"] == project_id
            assert edge["rel"] in EDGE_RELS
            # Edges to a deleted task go with it: every end is a live entity of the project.
            assert edge["src_id"] in entities and edge["dst_id"] in entities, edge
            relation = (edge["src_id"], edge["dst_id"], edge["rel"])
            assert relation not in relations, "each relation is stored once"
            relations.add(relation)
        has_task = {e["dst_id"] for e in data["edges"] if e["rel"] == "has_task"}
        assert has_task == {t["id"] for t in bundle["tasks"]}


def test_events_shape_and_time_window(client, truth):
    seen = 0
    lo, hi = NOW - timedelta(days=20), NOW - timedelta(days=5)
    for project_id in live_project_ids(_account_truth(truth, 0)):
        path = f"/api/onto/projects/{project_id}/events"
        events = ok(client.get(path))["events"]
        for event in events:
            assert set(event) == EVENT_COLUMNS
            assert event["project_id"] == project_id
            assert event["deleted_at"] is None
        seen += len(events)
        window = ok(client.get(path, params={"timeMin": lo.isoformat(), "timeMax": hi.isoformat()}))
        expected = {
            e["id"]
            for e in events
            if parse(e["start_at"]) <= hi and parse(e["end_at"] or e["start_at"]) >= lo
        }
        assert {e["id"] for e in window["events"]} == expected
    assert seen > 0


# -- brain dumps and briefs ---------------------------------------------------------------


def test_braindumps_list_pages_and_detail(client, truth):
    stored = {d["id"]: d["row"] for d in _account_truth(truth, 0)["braindumps"]}
    first = ok(client.get("/api/onto/braindumps"))
    assert set(first) == {"braindumps", "total", "limit", "offset", "hasMore"}
    assert first["total"] == len(stored) > 20
    rows = walk_offset(client, "/api/onto/braindumps", "braindumps", 9)
    assert [r["id"] for r in rows] == list(dict.fromkeys(r["id"] for r in rows))
    assert {r["id"] for r in rows} == set(stored)
    for row in rows:
        assert set(row) == BRAINDUMP_LIST_COLUMNS  # no content in the list
        assert row["status"] in {"pending", "processing", "processed", "failed"}
    for dump_id in list(stored)[:15]:
        detail = ok(client.get(f"/api/onto/braindumps/{dump_id}"))["braindump"]
        assert set(detail) >= BRAINDUMP_LIST_COLUMNS | BRAINDUMP_DETAIL_EXTRAS
        assert detail["content"] == stored[dump_id]["content"]
        assert detail["processed_at"] == stored[dump_id]["processed_at"]
        assert detail["error_message"] == stored[dump_id]["error_message"]
    failed = ok(client.get("/api/onto/braindumps", params={"status": "failed", "limit": 100}))
    assert {r["id"] for r in failed["braindumps"]} == {
        i for i, row in stored.items() if row["status"] == "failed"
    }
    fails(client.get("/api/onto/braindumps/00000000-0000-4000-8000-000000000000"), 404, "NOT_FOUND")


def test_briefs_pagination_walks_every_brief_once(client, truth):
    stored = {b["id"]: b["row"] for b in _account_truth(truth, 0)["briefs"]}
    seen: list[dict] = []
    page = 1
    while True:
        data = ok(client.get("/api/daily-briefs/history", params={"page": page, "limit": 7}))
        assert set(data) == {"briefs", "pagination"}
        pagination = data["pagination"]
        assert set(pagination) == {"page", "limit", "total", "totalPages", "hasNext", "hasPrev"}
        assert pagination["page"] == page and pagination["limit"] == 7
        assert pagination["total"] == len(stored)
        assert pagination["totalPages"] == -(-len(stored) // 7)
        assert pagination["hasPrev"] == (page > 1)
        seen.extend(data["briefs"])
        if not pagination["hasNext"]:
            break
        page += 1
    assert page == pagination["totalPages"]
    assert [b["id"] for b in seen] == list(dict.fromkeys(b["id"] for b in seen))
    assert {b["id"] for b in seen} == set(stored)
    for brief in seen:
        assert set(brief) == BRIEF_COLUMNS
    dates = [b["brief_date"] for b in seen]
    assert len(dates) == len(set(dates)), "one brief per user per day"

    window = ok(
        client.get(
            "/api/daily-briefs/history",
            params={"start_date": "2026-01-10", "end_date": "2026-01-31", "limit": 100},
        )
    )
    expected = {b["id"] for b in seen if "2026-01-10" <= b["brief_date"] <= "2026-01-31"}
    assert expected
    assert {b["id"] for b in window["briefs"]} == expected


# -- calendar items -----------------------------------------------------------------------


def test_calendar_items_are_events_and_task_dates(client, bundles):
    lo, hi = NOW - timedelta(days=10), NOW + timedelta(days=3)
    params = {"start": lo.isoformat(), "end": hi.isoformat()}
    items = ok(client.get("/api/calendar/items", params=params))["items"]
    assert set(ok(client.get("/api/calendar/items", params=params))) == {"items"}
    expected_events: set[str] = set()
    expected_tasks: set[str] = set()
    for project_id, bundle in bundles.items():
        events = ok(
            client.get(
                f"/api/onto/projects/{project_id}/events",
                params={"timeMin": lo.isoformat(), "timeMax": hi.isoformat()},
            )
        )["events"]
        expected_events |= {e["id"] for e in events}
        for task in bundle["tasks"]:
            first = parse(task["start_at"] or task["due_at"])
            last = parse(task["due_at"] or task["start_at"])
            if first is not None and first <= hi and last >= lo:
                expected_tasks.add(task["id"])
    assert expected_events and expected_tasks
    for item in items:
        assert {
            "calendar_item_id",
            "item_type",
            "start_at",
            "end_at",
            "project_id",
            "title",
        } <= set(item)
        assert item["item_type"] in {"event", "task"}
    assert {i["event_id"] for i in items if i["item_type"] == "event"} == expected_events
    assert {i["task_id"] for i in items if i["item_type"] == "task"} == expected_tasks

    one = items[0]["project_id"]
    filtered = ok(client.get("/api/calendar/items", params={**params, "project_ids": one}))
    assert filtered["items"] == [i for i in items if i["project_id"] == one]
    limited = ok(client.get("/api/calendar/items", params={**params, "limit": 5}))
    assert len(limited["items"]) == 5


# -- not found ----------------------------------------------------------------------------


@pytest.mark.parametrize("index", [0, 1])
def test_deleted_unknown_and_malformed_project_ids(shared, truth, index):
    deleted = [p["id"] for p in _account_truth(truth, index)["projects"] if p["deleted_at"]]
    assert deleted, "the fixture must hold a soft-deleted project"
    unknown = "00000000-0000-4000-8000-000000000000"
    with api_client(shared, index) as c:
        listed = ok(c.get("/api/projects", params={"status": ALL_PROJECT_STATUSES, "limit": 100}))
        assert not set(deleted) & {p["id"] for p in listed["projects"]}
        for project_id in (*deleted, unknown):
            for path, params in _project_routes(project_id):
                fails(c.get(path, params=params), 404, "NOT_FOUND")
        for path, params in _project_routes("not-a-uuid"):
            fails(c.get(path, params=params), 400, "INVALID_REQUEST")


# -- limits -------------------------------------------------------------------------------


def test_bad_limits_fall_back_to_the_default(client, truth):
    project_id = live_project_ids(_account_truth(truth, 0))[0]
    routes = [
        ("/api/projects", {"status": ALL_PROJECT_STATUSES}),
        (f"/api/onto/projects/{project_id}/tasks", {"bucket": "done"}),
        (f"/api/onto/projects/{project_id}/tasks/archived", {}),
        (f"/api/onto/projects/{project_id}/logs", {}),
        (f"/api/onto/projects/{project_id}/events", {}),
        ("/api/onto/braindumps", {}),
        ("/api/daily-briefs/history", {}),
    ]
    for path, params in routes:
        default = ok(client.get(path, params=params))
        for bad in ("-5", "0", "abc", ""):
            assert ok(client.get(path, params={**params, "limit": bad})) == default, (path, bad)
    logs = ok(client.get(f"/api/onto/projects/{project_id}/logs", params={"limit": "-1"}))
    assert len(logs["logs"]) == 10 < logs["total"]


def test_limits_are_clamped_to_the_maximum(big_client):
    projects = ok(big_client.get("/api/projects", params={"limit": 1000}))
    assert projects["total"] == 130
    assert len(projects["projects"]) == projects["limit"] == 100

    base = f"/api/onto/projects/{BIG_PROJECT_ID}"
    tasks = ok(big_client.get(f"{base}/tasks", params={"bucket": "backlog", "limit": 1000}))
    assert tasks["total"] == 150 and len(tasks["tasks"]) == 100
    assert tasks["hasMore"] is True and tasks["nextOffset"] == 100

    archived = ok(big_client.get(f"{base}/tasks/archived", params={"limit": 1000}))
    assert archived["total"] == 250 and len(archived["tasks"]) == 200
    assert archived["nextOffset"] == 200

    logs = ok(big_client.get(f"{base}/logs", params={"limit": 1000}))
    assert logs["total"] > 50 and len(logs["logs"]) == 50
    assert len(ok(big_client.get(f"{base}/logs"))["logs"]) == 10

    events = ok(big_client.get(f"{base}/events", params={"limit": 5000}))
    assert len(events["events"]) == 1000

    dumps = ok(big_client.get("/api/onto/braindumps", params={"limit": 1000}))
    assert dumps["total"] == 130 and len(dumps["braindumps"]) == dumps["limit"] == 100

    briefs = ok(big_client.get("/api/daily-briefs/history", params={"limit": 1000}))
    assert len(briefs["briefs"]) == briefs["pagination"]["limit"] == 100
    assert briefs["pagination"]["totalPages"] == 2


def test_big_lists_walk_every_row_once(big_client):
    base = f"/api/onto/projects/{BIG_PROJECT_ID}"
    for path, key, limit, params, total in (
        (f"{base}/tasks", "tasks", 100, {"bucket": "backlog"}, 150),
        (f"{base}/tasks/archived", "tasks", 200, {}, 250),
        (f"{base}/logs", "logs", 50, {}, 651),
        ("/api/onto/braindumps", "braindumps", 100, {}, 130),
    ):
        rows = walk_offset(big_client, path, key, limit, **params)
        assert len(rows) == len({r["id"] for r in rows}) == total, path


def test_other_accounts_exist_with_their_keys(shared):
    accounts = get_accounts(shared)
    assert [a["email"] for a in accounts] == ["demo@sandbox.local", "user2@sandbox.local"]
    assert [a["api_key"] for a in accounts] == ["boca_sandbox_demo", "boca_sandbox_user2"]
