"""Shared constants and helpers for the sandbox tests: options, HTTP helpers, contract field sets.

Imported by the test modules (pytest puts this folder on sys.path); the fixtures are in conftest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from pipeline.sandbox import SandboxServer, SimulationOptions, account_credentials

NOW = datetime(2026, 3, 2, tzinfo=UTC)
NOW_ISO = "2026-03-02T00:00:00.000000+00:00"

# Seed 24 at this size holds what the route tests need: a soft-deleted project in each account,
# every project state, deleted tasks, and more brain dumps and briefs than one page.
SMALL = SimulationOptions(
    seed=24,
    accounts=2,
    projects_per_account=10,
    tasks_per_project=40,
    days=90,
    horizon_days=20,
    now=NOW,
)
TINY = SimulationOptions(
    seed=3,
    accounts=1,
    projects_per_account=4,
    tasks_per_project=20,
    days=60,
    horizon_days=10,
    now=NOW,
)

TASK_BUCKETS = ("backlog", "in_progress", "scheduled", "overdue", "blocked", "done")

# Column sets from /work/shared/buildos-api.md, "Entities and their columns".
PROJECT_COLUMNS = {
    "id",
    "name",
    "description",
    "type_key",
    "state_key",
    "facet_context",
    "facet_scale",
    "facet_stage",
    "start_at",
    "end_at",
    "props",
    "created_at",
    "created_by",
    "updated_at",
    "archived_at",
    "deleted_at",
    "is_public",
    "org_id",
    "next_step_short",
    "next_step_long",
}
TASK_COLUMNS = {
    "id",
    "project_id",
    "title",
    "description",
    "type_key",
    "state_key",
    "priority",
    "start_at",
    "due_at",
    "completed_at",
    "facet_scale",
    "props",
    "created_at",
    "created_by",
    "updated_at",
    "archived_at",
    "deleted_at",
}
BUNDLE_TASK_EXTRAS = {"assignees", "last_changed_by_actor_id"}
GOAL_COLUMNS = {
    "id",
    "project_id",
    "name",
    "goal",
    "description",
    "type_key",
    "state_key",
    "target_date",
    "completed_at",
    "props",
    "created_at",
    "updated_at",
    "archived_at",
    "deleted_at",
}
MILESTONE_COLUMNS = {
    "id",
    "project_id",
    "title",
    "milestone",
    "description",
    "type_key",
    "state_key",
    "due_at",
    "completed_at",
    "props",
    "created_at",
    "updated_at",
    "archived_at",
    "deleted_at",
}
PLAN_COLUMNS = {
    "id",
    "project_id",
    "name",
    "plan",
    "description",
    "type_key",
    "state_key",
    "facet_context",
    "facet_scale",
    "facet_stage",
    "props",
    "created_at",
    "updated_at",
    "archived_at",
    "deleted_at",
}
DOCUMENT_COLUMNS = {
    "id",
    "project_id",
    "title",
    "description",
    "type_key",
    "state_key",
    "children",
    "props",
    "created_at",
    "updated_at",
    "archived_at",
    "deleted_at",
}
EDGE_COLUMNS = {
    "id",
    "src_id",
    "src_kind",
    "dst_id",
    "dst_kind",
    "rel",
    "props",
    "project_id",
    "created_at",
}
LOG_COLUMNS = {
    "id",
    "project_id",
    "entity_type",
    "entity_id",
    "action",
    "before_data",
    "after_data",
    "changed_by",
    "changed_by_actor_id",
    "change_source",
    "created_at",
    "entity_name",
    "changed_by_name",
}
BRAINDUMP_LIST_COLUMNS = {
    "id",
    "title",
    "topics",
    "summary",
    "status",
    "created_at",
    "updated_at",
    "chat_session_id",
    "metadata",
}
BRAINDUMP_DETAIL_EXTRAS = {"content", "error_message", "processed_at"}
BRIEF_COLUMNS = {
    "id",
    "user_id",
    "brief_date",
    "executive_summary",
    "llm_analysis",
    "priority_actions",
    "generation_status",
    "generation_error",
    "generation_started_at",
    "generation_completed_at",
    "metadata",
    "created_at",
    "updated_at",
}
EVENT_COLUMNS = {
    "id",
    "project_id",
    "owner_entity_type",
    "owner_entity_id",
    "title",
    "description",
    "start_at",
    "end_at",
    "all_day",
    "timezone",
    "state_key",
    "type_key",
    "recurrence",
    "sync_status",
    "props",
    "created_at",
    "updated_at",
    "deleted_at",
}
PROJECT_LIST_ITEM_COLUMNS = {
    "id",
    "name",
    "description",
    "status",
    "state_key",
    "created_at",
    "updated_at",
}
BUNDLE_KEYS = {
    "project",
    "goals",
    "requirements",
    "plans",
    "tasks",
    "documents",
    "images",
    "sources",
    "milestones",
    "risks",
    "metrics",
    "context_document",
}
EDGE_RELS = {
    "has_task",
    "has_goal",
    "has_plan",
    "has_milestone",
    "has_document",
    "supports_goal",
    "targets_milestone",
    "depends_on",
    "blocks",
    "requires",
    "relates_to",
    "references",
    "contains",
}
ALL_PROJECT_STATUSES = "active,paused,completed,cancelled"


def bearer(index: int = 0) -> dict[str, str]:
    """The Authorization header of the index-th account (0-based)."""
    return {"Authorization": f"Bearer {account_credentials(index)[2]}"}


def api_client(sandbox: SandboxServer, index: int = 0) -> httpx.Client:
    """A keep-alive client authenticated with the index-th account's Bearer key."""
    return httpx.Client(base_url=sandbox.base_url, headers=bearer(index), timeout=30)


def ok(response: httpx.Response, status: int = 200) -> dict:
    """Assert a success envelope and return its `data`."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert body["success"] is True
    assert set(body) - {"message"} == {"success", "data", "timestamp"}, sorted(body)
    assert_timestamp(body["timestamp"])
    return body["data"]


def fails(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """Assert an error envelope with this status (and code) and return the body."""
    assert response.status_code == status, (response.status_code, response.text[:500])
    body = response.json()
    assert body["success"] is False
    assert {"success", "error", "message", "timestamp"} <= set(body), sorted(body)
    assert set(body) <= {"success", "error", "message", "code", "details", "timestamp"}
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["message"], str) and body["message"]
    assert_timestamp(body["timestamp"])
    if code is not None:
        assert body["code"] == code, body
    return body


def assert_timestamp(value: str | None) -> None:
    """ISO 8601 with an explicit UTC offset, as the contract says every timestamp is."""
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value


def parse(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def get_truth(sandbox: SandboxServer, account_id: str | None = None) -> dict:
    params = {"account_id": account_id} if account_id else {}
    return ok(httpx.get(f"{sandbox.base_url}/__sandbox/truth", params=params, timeout=60))


def get_accounts(sandbox: SandboxServer) -> list[dict]:
    return ok(httpx.get(f"{sandbox.base_url}/__sandbox/accounts"))["accounts"]


def live_project_ids(account_truth: dict) -> list[str]:
    return [p["id"] for p in account_truth["projects"] if p["deleted_at"] is None]


def walk_offset(client: httpx.Client, path: str, key: str, limit: int, **params) -> list[dict]:
    """Every row of an offset-paged route, following hasMore/nextOffset to the end."""
    rows: list[dict] = []
    offset = 0
    for _ in range(10_000):
        data = ok(client.get(path, params={**params, "limit": limit, "offset": offset}))
        if "offset" in data:
            assert data["offset"] == offset
        rows.extend(data[key])
        assert len(data[key]) <= limit
        if not data["hasMore"]:
            assert offset + len(data[key]) == data["total"]
            if "nextOffset" in data:
                assert data["nextOffset"] is None
            return rows
        next_offset = data.get("nextOffset", offset + len(data[key]))
        assert next_offset == offset + len(data[key])
        offset = next_offset
    raise AssertionError(f"{path} never stopped paging")


def expected_bucket_ids(tasks: list[dict], as_of: datetime) -> dict[str, set[str]]:
    """Bucket membership from the rules in the API doc and app.py, computed independently."""
    buckets: dict[str, set[str]] = {bucket: set() for bucket in TASK_BUCKETS}
    for task in tasks:
        state, due, start = task["state_key"], parse(task["due_at"]), parse(task["start_at"])
        if state == "done":
            buckets["done"].add(task["id"])
        if state != "done" and due is not None and due < as_of:
            buckets["overdue"].add(task["id"])
        if state == "todo" and (
            (due is not None and due >= as_of)
            or (due is None and start is not None and start >= as_of)
        ):
            buckets["scheduled"].add(task["id"])
        if state in ("in_progress", "blocked") and (due is None or due >= as_of):
            buckets[state].add(task["id"])
        if state == "todo" and due is None and (start is None or start < as_of):
            buckets["backlog"].add(task["id"])
    return buckets


def logged_events_of_project(account_truth: dict, project_id: str) -> list[tuple[str, str, str]]:
    """(entity_id, created_at, action) of every log row the app wrote for a project, from the
    truth: logged creations and logged changes of the project and its children (never edges)."""
    kinds = ("projects", "tasks", "goals", "plans", "milestones", "documents")
    expected = []
    for group in kinds:
        for entity in account_truth[group]:
            if entity["project_id"] != project_id:
                continue
            if entity["created_logged"]:
                expected.append((entity["id"], entity["created_at"], "created"))
            for change in entity["changes"]:
                if not change["logged"]:
                    continue
                action = "deleted" if change["fields"].get("deleted_at") else "updated"
                expected.append((entity["id"], change["at"], action))
    return sorted(expected)


def assert_routes_match_truth(sandbox: SandboxServer, index: int, account_truth: dict) -> int:
    """The routes of one account against its truth (live tasks, archived tasks, task rows, state
    intervals, logs). Returns how many projects were checked."""
    tasks_by_project: dict[str, list[dict]] = {}
    for task in account_truth["tasks"]:
        tasks_by_project.setdefault(task["project_id"], []).append(task)
    checked = 0
    with api_client(sandbox, index) as client:
        for project_id in live_project_ids(account_truth):
            truth_tasks = tasks_by_project.get(project_id, [])
            live = {t["id"]: t for t in truth_tasks if t["deleted_at"] is None}
            deleted = {t["id"] for t in truth_tasks if t["deleted_at"] is not None}

            bundle = ok(client.get(f"/api/onto/projects/{project_id}"))
            served = {t["id"]: t for t in bundle["tasks"]}
            assert set(served) == set(live), project_id
            for task_id, row in served.items():
                truth_row = live[task_id]["row"]
                assert {k: v for k, v in row.items() if k not in BUNDLE_TASK_EXTRAS} == truth_row
                intervals = live[task_id]["state_intervals"]
                assert intervals[-1]["state"] == row["state_key"]
                assert intervals[-1]["valid_to"] is None
                if row["state_key"] == "done":
                    assert row["completed_at"] == intervals[-1]["valid_from"]
                else:
                    assert row["completed_at"] is None

            archived = walk_offset(
                client, f"/api/onto/projects/{project_id}/tasks/archived", "tasks", 200
            )
            assert {t["id"] for t in archived} == deleted, project_id
            assert len(archived) == len(deleted)

            logs = walk_offset(client, f"/api/onto/projects/{project_id}/logs", "logs", 50)
            served_logs = sorted(
                (log["entity_id"], log["created_at"], log["action"]) for log in logs
            )
            assert served_logs == logged_events_of_project(account_truth, project_id), project_id
            checked += 1
    return checked


def route_spread(client: httpx.Client) -> list[tuple[str, dict]]:
    """A spread of routes over every project of the first account (project ids from the list)."""
    listed = ok(client.get("/api/projects", params={"status": ALL_PROJECT_STATUSES, "limit": 100}))
    paths: list[tuple[str, dict]] = [
        ("/api/projects", {"status": ALL_PROJECT_STATUSES, "include_counts": "true"}),
        ("/api/onto/braindumps", {"limit": 100}),
        ("/api/daily-briefs/history", {"limit": 100}),
        ("/api/calendar/items", {"start": "2026-01-01", "end": "2026-04-01"}),
    ]
    for project in listed["projects"]:
        base = f"/api/onto/projects/{project['id']}"
        paths += [
            (base, {}),
            (f"{base}/tasks/archived", {}),
            (f"{base}/logs", {"limit": 50}),
            (f"{base}/events", {}),
            ("/api/onto/edges", {"project_id": project["id"]}),
        ]
        paths += [(f"{base}/tasks", {"bucket": bucket}) for bucket in TASK_BUCKETS]
    return paths


def bodies_of(sandbox: SandboxServer, paths: list[tuple[str, dict]]) -> list[bytes]:
    """The raw response bodies of these routes (Bearer auth: no cookie), then the truth's."""
    with api_client(sandbox) as client:
        bodies = []
        for path, params in paths:
            response = client.get(path, params=params)
            assert response.status_code == 200, (path, response.text[:300])
            bodies.append(response.content)
        bodies.append(httpx.get(f"{sandbox.base_url}/__sandbox/truth").content)
        return bodies
