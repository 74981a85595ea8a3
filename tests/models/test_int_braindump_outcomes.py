"""int_braindump_outcomes: each brain dump's creation day and week, outcome and latency."""

from tests.models.harness import d, run_model, ts

A = "acct"
AS_OF = {"account_id": A, "as_of_at": ts("2026-03-04 12:00"), "as_of_date": d("2026-03-04")}


def dump(dump_id, status, created, processed=None):
    return {
        "account_id": A,
        "braindump_id": dump_id,
        "braindump_status": status,
        "topics": '["planning"]',
        "created_at": ts(created),
        "processed_at": ts(processed) if processed else None,
    }


def outcomes(dumps):
    rows = run_model(
        "int_braindump_outcomes",
        {"staging.stg_buildos__braindumps": dumps, "intermediate.int_account_as_of": [AS_OF]},
        {"staging.stg_buildos__braindumps": {"topics": "json", "processed_at": "timestamptz"}},
        order_by="braindump_id",
    )
    return {row["braindump_id"]: row for row in rows}


def test_outcome_flags_and_latency():
    rows = outcomes(
        [
            dump("done", "processed", "2026-03-01 23:59:30", "2026-03-02 00:00:15.5"),
            dump("failed", "failed", "2026-03-02 10:00"),
            dump("waiting", "pending", "2026-03-03 10:00"),
            dump("working", "processing", "2026-03-03 10:00"),
        ]
    )
    flags = {
        k: (r["is_processed"], r["is_failed"], r["is_pending"], r["latency_seconds"])
        for k, r in rows.items()
    }
    assert flags == {
        "done": (True, False, False, 45.5),
        "failed": (False, True, False, None),
        "waiting": (False, False, True, None),
        "working": (False, False, True, None),
    }
    # dated by creation, not by processing
    assert rows["done"]["created_date"] == d("2026-03-01")
    assert rows["done"]["created_week_start"] == d("2026-02-23")


def test_a_dump_created_after_the_as_of_time_is_left_out():
    assert list(outcomes([dump("later", "pending", "2026-03-04 12:00")])) == []
