"""fct_briefs_daily: each day's brief, its outcome, and the streak of completed briefs."""

from tests.models.harness import d, run_model, ts

A = "acct"
TYPES = {
    "staging.stg_buildos__briefs": {
        "generation_completed_at": "timestamptz",
        "generation_started_at": "timestamptz",
    }
}


def brief(day, status, seconds=None):
    started = ts(f"{day} 06:00")
    return {
        "account_id": A,
        "brief_id": f"brief-{day}",
        "brief_date": d(day),
        "generation_status": status,
        "generation_started_at": started,
        "generation_completed_at": ts(f"{day} 06:00:{seconds:02d}") if seconds else None,
    }


def briefs_daily(briefs, as_of_date="2026-03-06"):
    as_of = {"account_id": A, "as_of_at": ts("2026-03-06 12:00"), "as_of_date": d(as_of_date)}
    rows = run_model(
        "fct_briefs_daily",
        {"staging.stg_buildos__briefs": briefs, "intermediate.int_account_as_of": [as_of]},
        TYPES,
        order_by="day_date",
    )
    return {row["day_date"].day: row for row in rows}


BRIEFS = [
    brief("2026-03-01", "completed", 30),
    brief("2026-03-02", "completed", 45),
    brief("2026-03-03", "failed", 10),
    brief("2026-03-04", "completed", 20),
    # no brief on the 5th
    brief("2026-03-06", "processing"),
]


def test_a_failed_brief_or_a_missing_day_breaks_the_streak():
    rows = briefs_daily(BRIEFS)
    assert {day: r["current_streak_days"] for day, r in rows.items()} == {
        1: 1,
        2: 2,
        3: 0,
        4: 1,
        5: 0,
        6: 0,
    }


def test_flags_and_generation_time():
    rows = briefs_daily(BRIEFS)
    flags = {
        day: (r["has_brief"], r["is_generated"], r["is_failed"], r["generation_seconds"])
        for day, r in rows.items()
    }
    assert flags == {
        1: (True, True, False, 30.0),
        2: (True, True, False, 45.0),
        3: (True, False, True, None),
        4: (True, True, False, 20.0),
        5: (False, False, False, None),
        6: (True, False, False, None),
    }
    assert (rows[5]["brief_id"], rows[5]["generation_status"]) == (None, None)
    assert rows[6]["generation_status"] == "processing"


def test_days_run_from_the_first_brief_to_the_as_of_day():
    rows = briefs_daily(BRIEFS, as_of_date="2026-03-04")
    assert sorted(rows) == [1, 2, 3, 4]
