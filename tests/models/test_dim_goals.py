"""dim_goals: every goal, deleted ones flagged."""

from tests.models.harness import run_model, ts


def goal(goal_id, state, deleted):
    return {
        "account_id": "a",
        "goal_id": goal_id,
        "project_id": "p1",
        "goal_name": f"Goal {goal_id}",
        "goal_state": state,
        "target_at": ts("2026-04-01 00:00"),
        "completed_at": None,
        "created_at": ts("2026-03-01 09:00"),
        "updated_at": ts("2026-03-01 09:00"),
        "is_deleted": deleted,
    }


def test_every_goal_is_kept_with_flags():
    rows = run_model(
        "dim_goals",
        {
            "staging.stg_buildos__goals": [
                goal("g1", "achieved", False),
                goal("g2", "active", True),
                goal("g3", "abandoned", False),
            ]
        },
        {"staging.stg_buildos__goals": {"completed_at": "timestamptz"}},
        order_by="goal_id",
    )
    assert [(r["goal_id"], r["is_achieved"], r["is_deleted"]) for r in rows] == [
        ("g1", True, False),
        ("g2", False, True),
        ("g3", False, False),
    ]
    assert rows[0]["target_at"] == ts("2026-04-01 00:00")
