"""fct_braindumps_weekly: brain dumps per ISO week (Monday start), weeks without any included."""

from datetime import timedelta

from tests.models.harness import d, run_model, ts

A = "acct"
AS_OF = {"account_id": A, "as_of_at": ts("2026-03-04 12:00"), "as_of_date": d("2026-03-04")}
TYPES = {"intermediate.int_braindump_outcomes": {"latency_seconds": "double"}}


def outcome(dump_id, status, created, latency=None):
    created_at = ts(created)
    day = created_at.date()
    return {
        "account_id": A,
        "braindump_id": dump_id,
        "braindump_status": status,
        "created_at": created_at,
        "created_date": day,
        "created_week_start": day - timedelta(days=day.weekday()),
        "is_processed": status == "processed",
        "is_failed": status == "failed",
        "is_pending": status in ("pending", "processing"),
        "latency_seconds": latency,
    }


def weekly(dumps):
    rows = run_model(
        "fct_braindumps_weekly",
        {"intermediate.int_braindump_outcomes": dumps, "intermediate.int_account_as_of": [AS_OF]},
        TYPES,
        order_by="week_start",
    )
    return {row["week_start"]: row for row in rows}


def test_weeks_from_the_first_dump_to_the_as_of_week_with_empty_weeks_as_zeros():
    rows = weekly(
        [
            outcome("b1", "processed", "2026-02-16 09:00", 10.0),  # Monday
            outcome("b2", "processed", "2026-02-22 23:00", 20.0),  # Sunday, same week
            outcome("b3", "failed", "2026-02-22 23:30"),
            outcome("b4", "processed", "2026-03-03 09:00", 40.0),
            outcome("b5", "pending", "2026-03-04 09:00"),
        ]
    )
    assert list(rows) == [d("2026-02-16"), d("2026-02-23"), d("2026-03-02")]
    counts = {
        week: (
            r["braindumps_created"],
            r["braindumps_processed"],
            r["braindumps_failed"],
            r["braindumps_pending"],
        )
        for week, r in rows.items()
    }
    assert counts == {
        d("2026-02-16"): (3, 2, 1, 0),
        d("2026-02-23"): (0, 0, 0, 0),
        d("2026-03-02"): (2, 1, 0, 1),
    }
    first = rows[d("2026-02-16")]
    assert (first["iso_year"], first["iso_week"]) == (2026, 8)
    assert (first["processed_rate"], first["failed_rate"]) == (2 / 3, 1 / 3)
    assert (first["latency_p50_seconds"], first["latency_p90_seconds"]) == (15.0, 19.0)
    assert rows[d("2026-02-23")]["processed_rate"] is None
    assert rows[d("2026-03-02")]["latency_p50_seconds"] == 40.0


def test_a_week_that_straddles_the_new_year_keeps_its_iso_year():
    rows = weekly([outcome("b1", "processed", "2026-01-01 09:00", 1.0)])
    first = rows[d("2025-12-29")]
    assert (first["iso_year"], first["iso_week"]) == (2026, 1)
