"""The dashboard's accounts: each account's label, the per-account table, and the project
names that repeat across accounts (shown with their account's label)."""

from __future__ import annotations

import duckdb

from pipeline.dashboard.query import ACCOUNT, fetch_one, fetch_rows


def per_account(con: duckdb.DuckDBPyConnection, params: dict, labels: dict) -> list[dict]:
    """One row per account: its label, active projects, completion and projects at risk
    (the all-accounts summary's table, and the CLI's closing lines)."""
    rows = fetch_rows(
        con,
        f"""
        with projects as (
            select account_id, count(*) filter (where project_state = 'active') as active
            from bi.dim_projects
            where {ACCOUNT} and not coalesce(is_deleted, false)
            group by account_id
        ),

        completion as (
            select account_id, sum(done_tasks) as done_tasks, sum(live_tasks) as live_tasks
            from bi.fct_project_completion
            where {ACCOUNT}
            group by account_id
        ),

        risk as (
            select
                account_id,
                count(*) filter (where is_at_risk) as at_risk,
                count(*) filter (where risk_status = 'overdue') as overdue
            from bi.fct_project_risk
            where {ACCOUNT}
            group by account_id
        )

        select
            accounts.account_id,
            coalesce(projects.active, 0) as active_projects,
            coalesce(completion.done_tasks, 0) as done_tasks,
            coalesce(completion.live_tasks, 0) as live_tasks,
            coalesce(risk.at_risk, 0) as at_risk_projects,
            coalesce(risk.overdue, 0) as overdue_projects
        from bi.dim_accounts as accounts
        left join projects on accounts.account_id = projects.account_id
        left join completion on accounts.account_id = completion.account_id
        left join risk on accounts.account_id = risk.account_id
        where $account_id is null or accounts.account_id = $account_id
        order by accounts.account_id
        """,
        params,
    )
    for row in rows:
        row["account_label"] = labels.get(row["account_id"], row["account_id"][:8])
        live = row["live_tasks"]
        row["completion_pct"] = 100 * row["done_tasks"] / live if live else None
    return rows


def account_labels(con: duckdb.DuckDBPyConnection, params: dict) -> dict[str, str]:
    """Each account's label for people: `bi.dim_accounts.account_label` when the warehouse
    publishes it, else the first 8 characters of the account id (the one place either is
    decided)."""
    has_label = fetch_one(
        con,
        "select count(*) from information_schema.columns where table_schema = 'bi' "
        "and table_name = 'dim_accounts' and column_name = 'account_label'",
        {},
    )[0]
    label = "nullif(trim(account_label), '')" if has_label else "null"
    rows = fetch_rows(
        con,
        f"""
        select account_id, coalesce({label}, left(account_id, 8)) as account_label
        from bi.dim_accounts
        where {ACCOUNT}
        order by account_id
        """,
        params,
    )
    return {row["account_id"]: row["account_label"] for row in rows}


def repeated_names(con: duckdb.DuckDBPyConnection, params: dict) -> set[str]:
    """Project names that more than one account uses (within the dashboard's accounts)."""
    rows = fetch_rows(
        con,
        f"""
        select project_name
        from bi.dim_projects
        where {ACCOUNT} and not coalesce(is_deleted, false) and project_name is not null
        group by project_name
        having count(distinct account_id) > 1
        """,
        params,
    )
    return {row["project_name"] for row in rows}


def label_projects(rows: list[dict], repeated: set[str], labels: dict[str, str]) -> None:
    """Adds `account_label`, and `display_name`: the project's name, with its account's
    label where another account has a project of the same name."""
    for row in rows:
        label = labels.get(row["account_id"], row["account_id"][:8])
        row["account_label"] = label
        name = row["project_name"]
        row["display_name"] = f"{name} · {label}" if name in repeated else name
