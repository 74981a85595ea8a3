"""A snapshot of every asset key in the Definitions: a rename shows up here, not in a
downstream dashboard. Adding or renaming an asset on purpose means updating this list."""

from __future__ import annotations

from pipeline.definitions import defs

ASSET_KEYS = [
    "accounts/release",
    "alerts/projects_at_risk",
    "bi/dim_accounts",
    "bi/dim_dates",
    "bi/dim_goals",
    "bi/dim_milestones",
    "bi/dim_projects",
    "bi/fct_braindump_topics",
    "bi/fct_braindumps_daily",
    "bi/fct_braindumps_weekly",
    "bi/fct_brief_summary",
    "bi/fct_briefs_daily",
    "bi/fct_burndown_daily",
    "bi/fct_flow_daily",
    "bi/fct_goal_progress",
    "bi/fct_project_completion",
    "bi/fct_project_risk",
    "bi/fct_project_status",
    "bi/fct_task_flow",
    "bi/fct_velocity_weekly",
    "bi/fct_wip_aging",
    "bi/graph_blockers",
    "bi/graph_edges",
    "bi/graph_goals_without_live_work",
    "bi/graph_nodes",
    "buildos/braindumps",
    "buildos/briefs",
    "buildos/calendar_items",
    "buildos/documents",
    "buildos/edges",
    "buildos/events",
    "buildos/goals",
    "buildos/logs",
    "buildos/milestones",
    "buildos/plans",
    "buildos/projects",
    "buildos/tasks",
    "dashboards/executive",
    "exports/analytics_duckdb",
    "exports/current",
    "exports/release",
    "history/goals",
    "history/milestones",
    "history/projects",
    "history/tasks",
    "intermediate/int_account_as_of",
    "intermediate/int_braindump_outcomes",
    "intermediate/int_dates",
    "intermediate/int_project_daily_states",
    "intermediate/int_project_days",
    "intermediate/int_task_completions",
    "intermediate/int_task_days",
    "intermediate/int_task_effort_intervals",
    "intermediate/int_task_state_intervals",
    "marts/dim_accounts",
    "marts/dim_dates",
    "marts/dim_goals",
    "marts/dim_milestones",
    "marts/dim_projects",
    "marts/fct_braindump_topics",
    "marts/fct_braindumps_daily",
    "marts/fct_braindumps_weekly",
    "marts/fct_brief_summary",
    "marts/fct_briefs_daily",
    "marts/fct_burndown_daily",
    "marts/fct_flow_daily",
    "marts/fct_goal_progress",
    "marts/fct_project_completion",
    "marts/fct_project_risk",
    "marts/fct_project_status",
    "marts/fct_task_flow",
    "marts/fct_velocity_weekly",
    "marts/fct_wip_aging",
    "marts/graph_blockers",
    "marts/graph_edges",
    "marts/graph_goals_without_live_work",
    "marts/graph_nodes",
    "meta/account_fingerprints",
    "meta/effort_weights",
    "meta/risk_tolerance",
    "meta/sync_runs",
    "postgres/buildos_analytics",
    "shared/account_releases",
    "shared/dim_accounts",
    "shared/dim_dates",
    "shared/dim_goals",
    "shared/dim_milestones",
    "shared/dim_projects",
    "shared/fct_braindump_topics",
    "shared/fct_braindumps_daily",
    "shared/fct_braindumps_weekly",
    "shared/fct_brief_summary",
    "shared/fct_briefs_daily",
    "shared/fct_burndown_daily",
    "shared/fct_flow_daily",
    "shared/fct_goal_progress",
    "shared/fct_project_completion",
    "shared/fct_project_risk",
    "shared/fct_project_status",
    "shared/fct_task_flow",
    "shared/fct_velocity_weekly",
    "shared/fct_wip_aging",
    "shared/graph_blockers",
    "shared/graph_edges",
    "shared/graph_goals_without_live_work",
    "shared/graph_nodes",
    "staging/stg_buildos__braindumps",
    "staging/stg_buildos__briefs",
    "staging/stg_buildos__documents",
    "staging/stg_buildos__edges",
    "staging/stg_buildos__effort_weights",
    "staging/stg_buildos__goals",
    "staging/stg_buildos__logs",
    "staging/stg_buildos__milestones",
    "staging/stg_buildos__plans",
    "staging/stg_buildos__projects",
    "staging/stg_buildos__risk_tolerance",
    "staging/stg_buildos__sync_runs",
    "staging/stg_buildos__task_history",
    "staging/stg_buildos__task_logs",
    "staging/stg_buildos__tasks",
]


def test_the_asset_keys_are_the_expected_ones():
    keys = sorted(key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys())
    assert keys == ASSET_KEYS


def test_the_ingest_assets_are_one_group_of_duckdb_tables():
    ingest = [
        spec
        for spec in defs.resolve_all_asset_specs()
        if spec.key.path[0] in ("buildos", "history") or spec.key.path == ["meta", "sync_runs"]
    ]
    assert len(ingest) == 17
    assert {spec.group_name for spec in ingest} == {"buildos"}
    assert all("duckdb" in spec.kinds and spec.description for spec in ingest)


def test_account_assets_are_partitioned_by_account_and_the_shared_ones_are_not():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        partitioned = graph.get(key).partitions_def is not None
        account_step = (
            key.path[0] in ("buildos", "history", "staging", "intermediate", "marts", "accounts")
            or key.path[0] == "meta"
        )
        assert partitioned == account_step, key
