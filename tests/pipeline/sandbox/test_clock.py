"""The simulated clock: advancing it moves `timestamp`, reveals later activity, stops at the
horizon, and leaves the sandbox exactly where a sandbox at the later time would be."""

from __future__ import annotations

from datetime import timedelta

import httpx
import orjson

from pipeline.sandbox import build_truth, generate_workspace
from pipeline.sandbox.model import US_PER_DAY
from tests.pipeline.sandbox.sandbox_helpers import (
    ALL_PROJECT_STATUSES,
    NOW,
    TINY,
    api_client,
    assert_routes_match_truth,
    fails,
    get_truth,
    ok,
)


def _snapshot(client: httpx.Client) -> tuple[str, dict[str, int], dict[str, str]]:
    """(timestamp, logs total per project, task state per task id) as the API shows them."""
    response = client.get("/api/projects", params={"status": ALL_PROJECT_STATUSES, "limit": 100})
    timestamp = response.json()["timestamp"]
    logs, states = {}, {}
    for project in ok(response)["projects"]:
        base = f"/api/onto/projects/{project['id']}"
        logs[project["id"]] = ok(client.get(f"{base}/logs", params={"limit": 1}))["total"]
        for task in ok(client.get(base))["tasks"]:
            states[task["id"]] = task["state_key"]
    return timestamp, logs, states


def _advance(sandbox, days) -> httpx.Response:
    return httpx.post(f"{sandbox.base_url}/__sandbox/clock/advance", json={"days": days})


def test_advancing_moves_the_timestamp_and_reveals_new_activity(tiny):
    with api_client(tiny) as client:
        before_ts, before_logs, before_states = _snapshot(client)
        assert before_ts == NOW.isoformat(timespec="microseconds")
        advanced = ok(_advance(tiny, 5))
        later = NOW + timedelta(days=5)
        assert advanced["now"] == later.isoformat(timespec="microseconds")
        assert ok(httpx.get(f"{tiny.base_url}/__sandbox/clock"))["now"] == advanced["now"]
        after_ts, after_logs, after_states = _snapshot(client)
    assert after_ts == advanced["now"]
    assert sum(after_logs.values()) > sum(before_logs.values())
    for project_id, total in before_logs.items():
        if project_id in after_logs:
            assert after_logs[project_id] >= total  # history only grows
    moved = [t for t, state in before_states.items() if after_states.get(t, state) != state]
    added = set(after_states) - set(before_states)
    assert moved or added, "five simulated days changed no task"


def test_the_clock_cannot_pass_the_horizon(tiny):
    horizon = ok(httpx.get(f"{tiny.base_url}/__sandbox/clock"))["horizon"]
    assert horizon == (NOW + timedelta(days=TINY.horizon_days)).isoformat(timespec="microseconds")
    fails(_advance(tiny, TINY.horizon_days + 1), 409)
    fails(_advance(tiny, 0), 400, "INVALID_FIELD")
    fails(_advance(tiny, -2), 400, "INVALID_FIELD")
    fails(httpx.post(f"{tiny.base_url}/__sandbox/clock/advance", content=b"{days"), 400)
    # A refused advance leaves the clock where it was.
    assert ok(httpx.get(f"{tiny.base_url}/__sandbox/clock"))["now"] == NOW.isoformat(
        timespec="microseconds"
    )
    ok(_advance(tiny, TINY.horizon_days - 1))
    fails(_advance(tiny, 2), 409)
    assert ok(_advance(tiny, 1))["now"] == horizon  # exactly at the horizon is allowed


def test_truth_after_advancing_equals_the_simulation_at_the_later_now(tiny):
    """Advancing reveals the simulated activity up to the new now: the same simulation (same
    seed and options) with its clock moved holds the same truth. (A sandbox built fresh with a
    later `now` is a different simulation: its history is anchored `days` before its now.)"""
    ok(_advance(tiny, 4))
    workspace = generate_workspace(TINY)
    workspace.now += 4 * US_PER_DAY
    assert get_truth(tiny) == orjson.loads(orjson.dumps(build_truth(workspace)))


def test_routes_still_match_the_truth_after_advancing(tiny):
    ok(_advance(tiny, 6))
    truth = get_truth(tiny)
    assert truth["now"] == (NOW + timedelta(days=6)).isoformat(timespec="microseconds")
    assert assert_routes_match_truth(tiny, 0, truth["accounts"][0]) >= 3
