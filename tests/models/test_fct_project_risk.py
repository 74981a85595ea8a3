"""fct_project_risk: the at-risk rule of docs/metrics.md on hand-made projects, one per case."""

from datetime import timedelta

from tests.models.harness import d, run_model, ts

A = "a"
AS_OF = d("2026-03-10")
END = d("2026-03-20")
# name: (state, end date, scope, remaining, ideal, projected finish, burn rate)
CASES = {
    # 4 left against an ideal of 3.7, finishing the day before the end: on track
    "close_to_ideal": ("active", END, 20, 4, 3.7, END - timedelta(days=1), 0.5),
    # 5 over the ideal of a 20-task scope: more than 2 tasks and more than 10% (2.0)
    "behind": ("active", END, 20, 10, 5.0, END - timedelta(days=1), 1.0),
    # 3 over the ideal of a 100-task scope: more than 2 tasks but under 10% (10)
    "behind_a_little": ("active", END, 100, 14, 11.0, END, 2.0),
    # 2 over the ideal of a 10-task scope: 20% but not more than 2 tasks
    "two_over": ("active", END, 10, 6, 4.0, END, 1.0),
    "projected_late": ("active", END, 20, 5, 5.0, END + timedelta(days=3), 0.5),
    "no_pace": ("planning", END, 20, 5, 5.0, None, 0.0),
    "first_day": ("active", END, 20, 20, 20.0, None, None),
    "overdue": ("active", AS_OF - timedelta(days=5), 10, 3, 0.0, AS_OF + timedelta(days=4), 1.0),
    "finished_after_end": ("active", AS_OF - timedelta(days=5), 10, 0, 0.0, AS_OF, 1.0),
    "overdue_but_paused": ("paused", AS_OF - timedelta(days=5), 10, 3, 0.0, None, 0.0),
    "no_end_date": ("active", None, 10, 8, None, None, 0.0),
}


def risk_rows(tolerance: tuple[float, int] | None = None) -> dict[str, dict]:
    projects, burndown = [], []
    for name, (state, end, scope, remaining, ideal, projected, rate) in CASES.items():
        projects.append(
            {
                "account_id": A,
                "project_id": name,
                "project_name": name,
                "project_state": state,
                "is_deleted": False,
                "end_at": None if end is None else ts(f"{end} 18:00"),
            }
        )
        burndown.append(
            {
                "account_id": A,
                "project_id": name,
                "day_date": AS_OF,
                "scope_tasks": scope,
                "remaining_tasks": remaining,
                "ideal_remaining_tasks": ideal,
                "projected_completion_date": projected,
                "burn_rate": rate,
            }
        )
    rows = run_model(
        "fct_project_risk",
        {
            "staging.stg_buildos__projects": projects,
            "marts.fct_burndown_daily": burndown,
            "marts.dim_milestones": [
                {
                    "account_id": A,
                    "project_id": "close_to_ideal",
                    "is_missed": False,
                    "is_deleted": False,
                }
            ],
            "marts.fct_project_status": [
                {"account_id": A, "project_id": "close_to_ideal", "blocked_tasks": 0}
            ],
            "marts.dim_accounts": [
                {"account_id": A, "as_of_at": ts("2026-03-10 12:00"), "as_of_date": AS_OF}
            ],
        }
        | (
            {
                "staging.stg_buildos__risk_tolerance": [
                    {"behind_share_of_scope": tolerance[0], "behind_tasks": tolerance[1]}
                ]
            }
            if tolerance
            else {}
        ),
        types={
            "staging.stg_buildos__projects": {"end_at": "timestamptz"},
            "marts.fct_burndown_daily": {
                "ideal_remaining_tasks": "double",
                "projected_completion_date": "date",
                "burn_rate": "double",
            },
        },
    )
    return {row["project_id"]: row for row in rows}


def test_the_documented_rule_on_known_cases():
    rows = risk_rows()
    status = {name: row["risk_status"] for name, row in rows.items()}
    assert status == {
        "close_to_ideal": "on track",
        "behind": "at risk",
        "behind_a_little": "on track",
        "two_over": "on track",
        "projected_late": "at risk",
        "no_pace": "at risk",
        "first_day": "on track",
        "overdue": "overdue",
        "finished_after_end": "on track",
        "overdue_but_paused": "not assessed",
        "no_end_date": "on track",
    }
    assert rows["behind"]["risk_reasons"] == ["behind the ideal burndown"]
    assert rows["projected_late"]["risk_reasons"] == ["projected to finish late"]
    assert rows["no_pace"]["risk_reasons"] == ["projected to finish late"]
    assert rows["overdue"]["risk_reasons"] == ["past its end date"]
    at_risk = sorted(name for name, row in rows.items() if row["is_at_risk"])
    assert at_risk == ["behind", "no_pace", "overdue", "projected_late"]
    assert rows["overdue_but_paused"]["risk_reasons"] == ["past its end date"]
    assert not rows["overdue_but_paused"]["is_at_risk"]


def test_the_tolerance_is_the_settings_one():
    strict = risk_rows((0.0, 0))  # any task above the ideal counts
    assert strict["behind_a_little"]["risk_status"] == "at risk"
    assert strict["two_over"]["risk_status"] == "at risk"
    assert strict["close_to_ideal"]["risk_status"] == "at risk"  # 0.3 over
    assert (strict["behind"]["behind_share_of_scope"], strict["behind"]["behind_tasks"]) == (0, 0)
    loose = risk_rows((0.5, 10))
    assert loose["behind"]["risk_status"] == "on track"
    assert risk_rows()["behind"]["behind_tasks"] == 2  # the default, as ModelSettings says
