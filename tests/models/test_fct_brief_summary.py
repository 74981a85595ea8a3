"""fct_brief_summary: brief counts, success rate and the longest and current streaks."""

from datetime import date, timedelta

from tests.models.harness import d, run_model, ts

AS_OF_DATE = d("2026-03-06")


def days(account_id, statuses):
    """fct_briefs_daily rows ending on the as-of day, one per status (None: no brief)."""
    rows, streak = [], 0
    first = AS_OF_DATE - timedelta(days=len(statuses) - 1)
    for number, status in enumerate(statuses):
        streak = streak + 1 if status == "completed" else 0
        rows.append(
            {
                "account_id": account_id,
                "day_date": first + timedelta(days=number),
                "has_brief": status is not None,
                "is_generated": status == "completed",
                "is_failed": status == "failed",
                "current_streak_days": streak,
            }
        )
    return rows


def summary(brief_days, accounts):
    as_of = [
        {"account_id": a, "as_of_at": ts("2026-03-06 12:00"), "as_of_date": AS_OF_DATE}
        for a in accounts
    ]
    rows = run_model(
        "fct_brief_summary",
        {"marts.fct_briefs_daily": brief_days, "intermediate.int_account_as_of": as_of},
        order_by="account_id",
    )
    return {row["account_id"]: row for row in rows}


def test_counts_rate_and_streaks():
    statuses = ["completed"] * 3 + ["failed"] + ["completed"] * 2
    row = summary(days("a", statuses), ["a"])["a"]
    assert (row["briefs"], row["briefs_completed"], row["briefs_failed"]) == (6, 5, 1)
    assert row["success_rate"] == 5 / 6
    assert (row["longest_streak_days"], row["current_streak_days"]) == (3, 2)
    assert row["as_of_date"] == date(2026, 3, 6)


def test_a_streak_that_ended_yesterday_is_still_current():
    # today's brief is still generating: it neither counts against the rate nor the streak
    row = summary(days("a", ["completed", "completed", "processing"]), ["a"])["a"]
    assert (row["briefs"], row["success_rate"]) == (3, 1.0)
    assert row["current_streak_days"] == 2


def test_a_streak_that_ended_two_days_ago_is_not_current():
    row = summary(days("a", ["completed", "completed", None, None]), ["a"])["a"]
    assert (row["longest_streak_days"], row["current_streak_days"]) == (2, 0)


def test_an_account_without_briefs_has_zeros_and_no_rate():
    rows = summary(days("a", ["completed"]), ["a", "b"])
    assert (rows["b"]["briefs"], rows["b"]["longest_streak_days"]) == (0, 0)
    assert (rows["b"]["current_streak_days"], rows["b"]["success_rate"]) == (0, None)
