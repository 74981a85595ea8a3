"""The ground truth agrees with what the routes serve: live and deleted tasks, task rows, state
intervals and logs."""

from __future__ import annotations

import itertools

import httpx
import pytest

from tests.pipeline.sandbox.sandbox_helpers import NOW_ISO, assert_routes_match_truth, get_truth, ok

GROUPS = (
    "projects",
    "tasks",
    "goals",
    "plans",
    "milestones",
    "documents",
    "edges",
    "events",
    "braindumps",
    "briefs",
)


@pytest.fixture(scope="module")
def truth(shared) -> dict:
    return get_truth(shared)


def test_truth_has_every_group_for_every_account(truth):
    assert truth["version"] == 1
    assert truth["now"] == NOW_ISO
    assert len(truth["accounts"]) == 2
    for account in truth["accounts"]:
        assert {"account_id", "email", "name", *GROUPS} == set(account)
        for group in GROUPS:
            assert account[group], group
            for entity in account[group]:
                assert entity["created_at"] <= NOW_ISO  # nothing after now
                assert set(entity) == {
                    "kind",
                    "id",
                    "project_id",
                    "created_at",
                    "deleted_at",
                    "created_logged",
                    "row",
                    "changes",
                    "state_intervals",
                }


def test_truth_filters_by_account(shared, truth):
    second = truth["accounts"][1]
    only = get_truth(shared, second["account_id"])
    assert only["accounts"] == [second]


@pytest.mark.parametrize("index", [0, 1])
def test_routes_serve_exactly_the_truth(shared, truth, index):
    assert assert_routes_match_truth(shared, index, truth["accounts"][index]) >= 8


def test_truth_holds_changes_the_logs_miss(truth):
    """Silent changes exist (logs alone are not the whole truth) and are in the truth."""
    silent = [
        change
        for account in truth["accounts"]
        for task in account["tasks"]
        for change in task["changes"]
        if not change["logged"]
    ]
    assert silent
    assert any(not task["created_logged"] for a in truth["accounts"] for task in a["tasks"])


def test_state_intervals_chain_without_gaps(truth):
    for account in truth["accounts"]:
        for task in account["tasks"]:
            intervals = task["state_intervals"]
            assert intervals[0]["valid_from"] == task["created_at"]
            for before, after in itertools.pairwise(intervals):
                assert before["valid_to"] == after["valid_from"]
                assert before["state"] != after["state"]
            assert intervals[-1]["valid_to"] is None
            assert intervals[-1]["state"] == task["row"]["state_key"]


def test_truth_route_is_not_behind_auth(shared):
    assert ok(httpx.get(f"{shared.base_url}/__sandbox/health"))["ok"] is True
