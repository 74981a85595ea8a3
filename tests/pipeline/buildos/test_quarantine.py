"""Records the sync cannot read go to meta.quarantine with the entity, the record, the field and
the reason; everything else lands."""

from __future__ import annotations

import orjson
import pytest

from pipeline.buildos.records import ENTITIES
from pipeline.buildos.values import RecordError, read_record
from tests.pipeline.buildos.sync_helpers import rows, sync_all

TASKS = ENTITIES["tasks"]


def _workspace_file(tmp_path):
    """One project with four tasks (one deleted); the server is made to serve two of them
    with values the API contract does not allow."""
    workspace = {
        "format": "buildos-sandbox-workspace/1",
        "now": "2026-03-10T00:00:00Z",
        "accounts": [
            {
                "projects": [
                    {
                        "name": "Launch the podcast",
                        "created_at": "2026-03-01T09:00:00Z",
                        "tasks": [
                            {
                                "id": "t-fine",
                                "title": "Record",
                                "created_at": "2026-03-01T09:00:00Z",
                            },
                            {
                                "id": "t-done",
                                "title": "Edit",
                                "created_at": "2026-03-01T10:00:00Z",
                                "changes": [{"at": "2026-03-02T10:00:00Z", "state_key": "done"}],
                            },
                            {
                                "id": "t-deleted",
                                "title": "Drop",
                                "created_at": "2026-03-01T11:00:00Z",
                                "changes": [{"at": "2026-03-03T10:00:00Z", "deleted": True}],
                            },
                            {"id": "t-state", "title": "Mix", "created_at": "2026-03-01T12:00:00Z"},
                            {
                                "id": "t-prio",
                                "title": "Publish",
                                "created_at": "2026-03-01T13:00:00Z",
                            },
                        ],
                    }
                ]
            }
        ],
    }
    path = tmp_path / "case.json"
    path.write_bytes(orjson.dumps(workspace))
    return path


def _serve_bad_values(server, values: dict[str, dict]) -> None:
    """Make the sandbox serve these values, as a misbehaving server would. (The workspace
    file loader refuses them, rightly: the real app cannot store them.)"""
    [account] = server.app.workspace.accounts
    for children in account.children.values():
        for entity in children:
            entity.base.update(values.get(entity.id, {}))


def test_malformed_records_are_quarantined_and_the_rest_lands(sandbox_factory, tmp_path):
    server = sandbox_factory(workspace_file=_workspace_file(tmp_path))
    _serve_bad_values(
        server, {"t-state": {"state_key": "cancelled"}, "t-prio": {"priority": "high"}}
    )
    db = tmp_path / "w.duckdb"

    [result] = sync_all(server, db, full=True)

    quarantined = rows(
        db, "select entity, record_id, field, reason from meta.quarantine order by record_id"
    )
    assert quarantined == [
        (
            "tasks",
            "t-prio",
            "priority",
            "tasks record t-prio: field 'priority': expected an integer, got str 'high'",
        ),
        (
            "tasks",
            "t-state",
            "state_key",
            "tasks record t-state: field 'state_key': unknown value 'cancelled' "
            "(expected one of blocked, done, in_progress, todo)",
        ),
    ]
    payloads = rows(db, "select payload->>'$.id', payload->>'$.title' from meta.quarantine")
    assert sorted(payloads) == [("t-prio", "Publish"), ("t-state", "Mix")]
    landed = rows(db, "select id, state_key, deleted_at is not null from buildos.tasks order by id")
    assert landed == [
        ("t-deleted", "todo", True),
        ("t-done", "done", False),
        ("t-fine", "todo", False),
    ]
    assert rows(db, "select count(*) from buildos.projects") == [(1,)]
    assert result.quarantined == 2
    assert sorted(result.quarantine_examples) == [r[3] for r in quarantined]
    assert rows(db, "select records_quarantined from meta.sync_runs") == [(2,)]

    # Syncing again quarantines nothing twice, and the unreadable tasks are not taken for
    # removed ones.
    sync_all(server, db, full=True)
    assert rows(db, "select count(*) from meta.quarantine") == [(2,)]
    assert rows(db, "select count(*) from buildos.tasks where _removed_at is not null") == [(0,)]


GOOD_TASK = {
    "id": "t1",
    "project_id": "p1",
    "title": "Write",
    "state_key": "todo",
    "priority": 2,
    "created_at": "2026-03-01T09:00:00+00:00",
}


@pytest.mark.parametrize(
    ("record", "record_id", "field", "reason"),
    [
        pytest.param(
            {k: v for k, v in GOOD_TASK.items() if k != "id"},
            None,
            "id",
            "tasks record without an id: field 'id': is missing or not text",
            id="missing-id",
        ),
        pytest.param(
            {**GOOD_TASK, "id": 17},
            None,
            "id",
            "tasks record without an id: field 'id': is missing or not text",
            id="id-not-text",
        ),
        pytest.param(
            {k: v for k, v in GOOD_TASK.items() if k != "state_key"},
            "t1",
            "state_key",
            "tasks record t1: field 'state_key': is missing or null",
            id="missing-required",
        ),
        pytest.param(
            {**GOOD_TASK, "priority": True},
            "t1",
            "priority",
            "tasks record t1: field 'priority': expected an integer, got bool True",
            id="bool-is-not-an-integer",
        ),
        pytest.param(
            {**GOOD_TASK, "due_at": "2026-03-04T10:00:00"},
            "t1",
            "due_at",
            "tasks record t1: field 'due_at': '2026-03-04T10:00:00' has no UTC offset",
            id="timestamp-without-offset",
        ),
        pytest.param(
            {**GOOD_TASK, "due_at": "next tuesday"},
            "t1",
            "due_at",
            "tasks record t1: field 'due_at': 'next tuesday' is not an ISO 8601 timestamptz",
            id="not-a-timestamp",
        ),
        pytest.param(
            ["t1"],
            None,
            "(record)",
            "tasks record without an id: field '(record)': expected a JSON object, got list",
            id="not-an-object",
        ),
    ],
)
def test_read_record_names_the_record_and_the_field(record, record_id, field, reason):
    with pytest.raises(RecordError) as raised:
        read_record(TASKS, record)
    assert (raised.value.entity, raised.value.record_id, raised.value.field) == (
        "tasks",
        record_id,
        field,
    )
    assert str(raised.value) == reason


def test_read_record_types_a_good_record_and_fills_what_the_route_leaves_out():
    row = read_record(
        TASKS, {k: v for k, v in GOOD_TASK.items() if k != "project_id"}, {"project_id": "p9"}
    )
    assert row["id"] == "t1" and row["project_id"] == "p9" and row["priority"] == 2
    assert row["created_at"].isoformat() == "2026-03-01T09:00:00+00:00"
    assert row["completed_at"] is None
