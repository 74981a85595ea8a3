"""dim_milestones: the API's state, is_missed worked out again, days until due."""

from tests.models.harness import d, run_model, ts

AS_OF = [{"account_id": "a", "as_of_at": ts("2026-03-10 00:00"), "as_of_date": d("2026-03-09")}]


def milestone(milestone_id, state, due=None, deleted=False):
    return {
        "account_id": "a",
        "milestone_id": milestone_id,
        "project_id": "p1",
        "milestone_title": milestone_id.replace("_", " "),
        "milestone_state": state,
        "due_at": ts(due) if due else None,
        "completed_at": None,
        "created_at": ts("2026-03-01 09:00"),
        "updated_at": ts("2026-03-01 09:00"),
        "is_deleted": deleted,
    }


MILESTONES = [
    # fetched before its due time passed: still pending in the warehouse, missed by now
    milestone("pending_past_due", "pending", "2026-03-08 17:00"),
    milestone("shown_missed", "missed", "2026-03-08 17:00"),
    milestone("completed_past_due", "completed", "2026-03-08 17:00"),
    milestone("in_progress_past_due", "in_progress", "2026-03-08 17:00"),
    milestone("due_at_as_of", "pending", "2026-03-10 00:00"),
    milestone("due_later", "pending", "2026-03-12 10:00"),
    milestone("no_due", "pending"),
    milestone("deleted_past_due", "pending", "2026-03-01 17:00", deleted=True),
]


def test_missed_and_days_until_due():
    rows = run_model(
        "dim_milestones",
        {"staging.stg_buildos__milestones": MILESTONES, "intermediate.int_account_as_of": AS_OF},
        {
            "staging.stg_buildos__milestones": {
                "due_at": "timestamptz",
                "completed_at": "timestamptz",
            }
        },
        order_by="milestone_id",
    )
    result = {
        r["milestone_id"]: (
            r["milestone_state"],
            r["is_missed"],
            r["days_until_due"],
            r["is_deleted"],
        )
        for r in rows
    }
    assert result == {
        "completed_past_due": ("completed", False, -1, False),
        "deleted_past_due": ("pending", True, -8, True),
        "due_at_as_of": ("pending", False, 1, False),  # as_of_date is the 9th
        "due_later": ("pending", False, 3, False),
        "in_progress_past_due": ("in_progress", False, -1, False),
        "no_due": ("pending", False, None, False),
        "pending_past_due": ("pending", True, -1, False),
        "shown_missed": ("missed", True, -1, False),
    }
    assert {r["due_date"] for r in rows if r["milestone_id"] == "due_later"} == {d("2026-03-12")}
