"""Property: whatever mix of good and malformed task records a bundle holds, the sync ends
`succeeded`, every good task lands (repaired when its text was broken) and every malformed one
is quarantined, never landed. The API is an in-process httpx transport serving one project,
so hundreds of generated bundles sync in well under a minute."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import duckdb
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.buildos import landing
from pipeline.buildos.client import ClientSettings
from pipeline.buildos.records import TASK_STATES
from pipeline.buildos.sync import SyncOptions, sync_account

PROJECT = "00000000-0000-4000-8000-000000000001"
STAMP = "2026-03-01T09:00:00+00:00"
CONNECTION = duckdb.connect()  # one in-memory warehouse; each example is its own account
landing.ensure_tables(CONNECTION)

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates, NUL
timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.isoformat())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@st.composite
def good_task(draw) -> dict:
    task = {
        "title": draw(st.none() | any_text),
        "description": draw(st.none() | any_text),
        "state_key": draw(st.sampled_from(sorted(TASK_STATES))),
        "priority": draw(st.none() | st.integers(-(2**31), 2**31 - 1)),
        "created_at": draw(timestamps),
        "due_at": draw(st.none() | timestamps),
        "props": draw(json_values),
    }
    if draw(st.booleans()):
        task["project_id"] = PROJECT  # the route's own project_id, or left out
    return task


# Each makes a good task unreadable in one way the contract does not allow.
BREAKAGES = {
    "state_key": st.text(max_size=8).filter(lambda v: v not in TASK_STATES) | st.integers(),
    "priority": st.integers(min_value=2**31)
    | st.integers(max_value=-(2**31) - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=4)
    | st.booleans(),
    "created_at": st.none() | st.sampled_from(["yesterday", "2026-13-01T00:00:00Z", "1"]),
    "due_at": st.sampled_from(["2026-03-04T10:00:00", "next tuesday", "2026-03-04garbage"]),
    "project_id": st.just("00000000-0000-4000-8000-000000000999"),
    "id": st.none() | st.integers() | st.just(""),
}


@st.composite
def bad_task(draw, index: int):
    if draw(st.integers(0, 9)) == 0:
        return ["not an object", index]
    task = draw(good_task())
    task["id"] = str(uuid.UUID(int=10**6 + index))
    field = draw(st.sampled_from(sorted(BREAKAGES)))
    value = draw(BREAKAGES[field])
    if field == "id" and draw(st.booleans()):
        del task["id"]
    else:
        task[field] = value
    task["case"] = index  # keeps every bad payload distinct (the quarantine keeps one of each)
    return task


@st.composite
def bundles(draw):
    good = draw(st.lists(good_task(), max_size=8))
    for index, task in enumerate(good):
        task["id"] = str(uuid.UUID(int=index + 1))
    bad = [draw(bad_task(index)) for index in range(draw(st.integers(0, 6)))]
    tasks = draw(st.permutations(good + bad))
    invalid_bytes = bool(good) and draw(st.booleans())
    if invalid_bytes:
        good[0]["title"] = "INVALID-BYTES-HERE"
    return tasks, {t["id"] for t in good}, len(bad), invalid_bytes


def _api(tasks: list, invalid_bytes: bool):
    project = {"id": PROJECT, "name": "P", "state_key": "active", "created_at": STAMP}
    answers = {
        "/api/projects": {"projects": [project], "total": 1, "page": 1, "limit": 100},
        "/api/calendar/items": {"items": []},
        f"/api/onto/projects/{PROJECT}": {
            "project": project,
            "tasks": tasks,
            **{key: [] for key in ("goals", "plans", "milestones", "documents")},
        },
        f"/api/onto/projects/{PROJECT}/tasks/archived": {"tasks": [], "hasMore": False},
        "/api/onto/edges": {"edges": []},
        f"/api/onto/projects/{PROJECT}/logs": {"logs": [], "hasMore": False},
        f"/api/onto/projects/{PROJECT}/events": {"events": []},
        "/api/onto/braindumps": {"braindumps": [], "hasMore": False},
        "/api/daily-briefs/history": {"briefs": [], "pagination": {"hasNext": False}},
    }

    def handle(request: httpx.Request) -> httpx.Response:
        envelope = {"success": True, "data": answers[request.url.path], "timestamp": STAMP}
        body = json.dumps(envelope).encode()  # lone surrogates go out as \\ud800 escapes
        if invalid_bytes:
            body = body.replace(b"INVALID-BYTES-HERE", b"bad \xff byte")
        return httpx.Response(200, content=body)

    return httpx.MockTransport(handle)


@settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(bundles())
def test_malformed_tasks_never_fail_the_run_nor_cost_a_good_row(case):
    tasks, good_ids, bad_count, invalid_bytes = case
    account_id = str(uuid.uuid4())
    client = ClientSettings(base_url="http://buildos.test", api_key="boca_test", max_attempts=1)
    cursor = CONNECTION.cursor()
    try:
        result = asyncio.run(
            sync_account(
                client,
                cursor,
                SyncOptions(full=True, account_id=account_id),
                transport=_api(tasks, invalid_bytes),
            )
        )
        landed = {
            row[0]
            for row in cursor.execute(
                "select id from buildos.tasks where account_id = ? and _removed_at is null",
                [account_id],
            ).fetchall()
        }
        [(rejected,)] = cursor.execute(
            "select count(*) from meta.quarantine where account_id = ? and entity = 'tasks' "
            "and disposition = 'rejected'",
            [account_id],
        ).fetchall()
    finally:
        cursor.close()
    assert result.status == "succeeded", result.failed
    assert landed == good_ids  # no good row lost, no bad one landed
    assert rejected == bad_count
    if invalid_bytes:
        assert result.repaired >= 1
