"""int_dates, the one day spine (from the Monday of the week the first project, brain dump or brief
falls in), and dim_dates, its part from the first project's creation to the last as-of day + 90."""

from datetime import timedelta

from tests.models.harness import d, run_model, ts

EMPTY = {
    "staging.stg_buildos__braindumps": {"account_id": "varchar", "created_at": "timestamptz"},
    "staging.stg_buildos__briefs": {"account_id": "varchar", "brief_date": "date"},
}


def test_calendar_bounds_and_iso_attributes():
    rows = run_model(
        "dim_dates",
        {
            "staging.stg_buildos__braindumps": [],
            "staging.stg_buildos__briefs": [],
            "staging.stg_buildos__projects": [
                {"account_id": "a", "project_id": "p1", "created_at": ts("2026-01-05 09:00")},
                # deleted projects count too; 23:30 UTC is still the 28th
                {"account_id": "b", "project_id": "p2", "created_at": ts("2025-12-28 23:30")},
            ],
            "intermediate.int_account_as_of": [
                {
                    "account_id": "a",
                    "as_of_at": ts("2026-03-02 00:00"),
                    "as_of_date": d("2026-03-01"),
                },
                {
                    "account_id": "b",
                    "as_of_at": ts("2026-02-20 12:00"),
                    "as_of_date": d("2026-02-20"),
                },
            ],
        },
        EMPTY,
        order_by="day_date",
    )
    days = [r["day_date"] for r in rows]
    assert days[0] == d("2025-12-28")
    assert days[-1] == d("2026-03-01") + timedelta(days=90) == d("2026-05-30")
    assert days == [d("2025-12-28") + timedelta(days=n) for n in range(len(days))]
    by_day = {r["day_date"]: r for r in rows}

    def attributes(day):
        row = by_day[d(day)]
        return (
            row["iso_year"],
            row["iso_week"],
            row["week_start"],
            row["month_start"],
            row["day_of_week"],
            row["is_weekend"],
        )

    # a Sunday in ISO week 52 of 2025, then the Monday that starts ISO week 1 of 2026
    assert attributes("2025-12-28") == (2025, 52, d("2025-12-22"), d("2025-12-01"), 7, True)
    assert attributes("2025-12-29") == (2026, 1, d("2025-12-29"), d("2025-12-01"), 1, False)
    assert attributes("2026-03-01") == (2026, 9, d("2026-02-23"), d("2026-03-01"), 7, True)
    assert attributes("2026-02-28") == (2026, 9, d("2026-02-23"), d("2026-02-01"), 6, True)


def test_brain_dumps_and_briefs_before_the_first_project_are_on_the_spine():
    rows = run_model(
        "int_dates",
        {
            "staging.stg_buildos__projects": [
                {"account_id": "a", "project_id": "p1", "created_at": ts("2026-02-10 09:00")},
            ],
            "staging.stg_buildos__braindumps": [
                {"account_id": "a", "braindump_id": "b1", "created_at": ts("2026-02-04 08:00")},
            ],
            "staging.stg_buildos__briefs": [
                {"account_id": "b", "brief_id": "r1", "brief_date": d("2026-02-06")},
            ],
            "intermediate.int_account_as_of": [
                {
                    "account_id": "a",
                    "as_of_at": ts("2026-02-12 00:00"),
                    "as_of_date": d("2026-02-11"),
                },
            ],
        },
        order_by="day_date",
    )
    # Wednesday 4 February's week starts on Monday 2 February
    assert rows[0]["day_date"] == d("2026-02-02")
    assert rows[-1]["day_date"] == d("2026-02-11") + timedelta(days=90)


def test_no_projects_no_calendar():
    rows = run_model(
        "dim_dates",
        {
            "staging.stg_buildos__projects": [],
            "staging.stg_buildos__braindumps": [],
            "staging.stg_buildos__briefs": [],
            "intermediate.int_account_as_of": [],
        },
        {
            **EMPTY,
            "staging.stg_buildos__projects": {"account_id": "varchar", "created_at": "timestamptz"},
            "intermediate.int_account_as_of": {"account_id": "varchar", "as_of_date": "date"},
        },
    )
    assert rows == []
