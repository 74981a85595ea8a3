"""fct_braindumps_daily: brain dumps created per day, their outcomes, rates and latency."""

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


DUMPS = [
    outcome("b1", "processed", "2026-03-01 09:00", 10.0),
    outcome("b2", "processed", "2026-03-01 12:00", 30.0),
    outcome("b3", "failed", "2026-03-01 15:00"),
    # nothing on the 2nd
    outcome("b4", "pending", "2026-03-03 09:00"),
    outcome("b5", "processing", "2026-03-03 10:00"),
    outcome("b6", "processed", "2026-03-04 08:00", 20.0),
]


def daily(dumps):
    rows = run_model(
        "fct_braindumps_daily",
        {"intermediate.int_braindump_outcomes": dumps, "intermediate.int_account_as_of": [AS_OF]},
        TYPES,
        order_by="day_date",
    )
    return {row["day_date"].day: row for row in rows}


def test_counts_rates_and_latency_per_creation_day():
    rows = daily(DUMPS)
    assert sorted(rows) == [1, 2, 3, 4]
    first = rows[1]
    assert (
        first["braindumps_created"],
        first["braindumps_processed"],
        first["braindumps_failed"],
        first["braindumps_pending"],
    ) == (3, 2, 1, 0)
    assert (first["processed_rate"], first["failed_rate"]) == (2 / 3, 1 / 3)
    # continuous percentiles over 10 and 30 seconds
    assert (first["latency_p50_seconds"], first["latency_p90_seconds"]) == (20.0, 28.0)


def test_a_day_without_dumps_is_zeros_with_no_rates():
    quiet = daily(DUMPS)[2]
    assert (quiet["braindumps_created"], quiet["braindumps_processed"]) == (0, 0)
    assert (quiet["processed_rate"], quiet["failed_rate"], quiet["latency_p50_seconds"]) == (
        None,
        None,
        None,
    )


def test_pending_and_processing_dumps_are_pending_with_no_latency():
    pending = daily(DUMPS)[3]
    assert (pending["braindumps_created"], pending["braindumps_pending"]) == (2, 2)
    assert (pending["processed_rate"], pending["failed_rate"]) == (0.0, 0.0)
    assert pending["latency_p90_seconds"] is None


def test_days_run_from_the_first_dump_to_the_as_of_day():
    rows = daily([outcome("b1", "processed", "2026-03-03 09:00", 5.0)])
    assert sorted(rows) == [3, 4]
    assert rows[4]["braindumps_created"] == 0
