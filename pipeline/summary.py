"""What a run did, as lines of text: row counts, checks, a publish failure, the outputs and the
portfolio's headline numbers. The CLI prints them; tests read them."""

from __future__ import annotations

from pathlib import Path


def materialization_lines(result) -> list[str]:
    """One line per materialized table with its row count, and the sync's own summary."""
    lines = []
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        rows = materialization.metadata.get("row_count")
        if rows is not None:
            key = materialization.asset_key.to_user_string()
            lines.append(f"  {key:<44} {rows.value:>10,} rows")
        elif materialization.asset_key.path == ["meta", "sync_runs"]:
            meta = {k: v.value for k, v in materialization.metadata.items()}
            lines.append(
                f"  sync: {meta['accounts']} account(s), {meta['modes']}, "
                f"{meta['projects_fetched']} projects fetched, {meta['requests']} "
                f"requests, {meta['quarantined']} quarantined, "
                f"{meta['duration_seconds']:.1f}s, {meta.get('status', 'succeeded')}"
            )
            if meta.get("status", "succeeded") != "succeeded":
                lines.append(f"  sync was partial (kept previous rows for):\n{meta['sync_runs']}")
    return lines


def check_lines(result) -> list[str]:
    """How many checks passed and failed, then each failed check with its failing rows."""
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    lines = [f"  checks: {len(evaluations) - len(failed)} passed, {len(failed)} failed"]
    lines += [
        f"    FAILED {evaluation.asset_key.to_user_string()} "
        f"{evaluation.check_name}: {evaluation.metadata.get('failing_rows')}"
        for evaluation in failed
    ]
    return lines


def step_errors(result) -> list[str]:
    """The error message of every step that raised (a failed check is not one)."""
    errors = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            # Dagster wraps what the step raised; that (not its own causes) is the message.
            while error.cause is not None and (error.cls_name or "").startswith("Dagster"):
                error = error.cause
            errors.append(f"{event.step_key}: {error.message.strip()}")
    return errors


def publish_failure(result) -> str:
    """Which publish step failed, and what BI tools see now: the steps before it may already
    have switched the Parquet release and the serving file."""
    done = {
        event.materialization.asset_key.to_user_string()
        for event in result.get_asset_materialization_events()
    }
    failed = sorted(
        {event.step_key for event in result.all_events if event.is_step_failure}
        | {
            e.asset_key.to_user_string()
            for e in result.get_asset_check_evaluations()
            if not e.passed
        }
    )
    visible = [key for key in ("exports/current", "exports/analytics_duckdb") if key in done]
    seen = (
        f"already published before it: {', '.join(visible)} (BI tools reading those see the "
        "new release)"
        if visible
        else "BI tools still see the previous release"
    )
    errors = "".join(f"\n  {error}" for error in step_errors(result))
    return f"publishing stopped at {', '.join(failed) or 'a step'} (see above); {seen}{errors}"


def output_lines(db: str | Path, exports_dir: str | Path, postgres_url: str | None) -> list[str]:
    """Where the published outputs are."""
    from pipeline.lake import LakeSettings

    exports = Path(exports_dir).resolve()
    lake = LakeSettings.from_env(data_root=Path(db).resolve().parent)
    lines = [
        "Outputs:",
        f"  DuckDB file (pipeline, bi views):  {Path(db).resolve()}",
        f"  shared lake (DuckLake catalog):    {lake.catalog_label}",
        f"  Parquet exports:                   {exports / 'current'}",
        f"  portable views over the Parquet:   {exports / 'current' / 'views.sql'}",
        f"  serving file for BI (read-only):   {exports / 'analytics.duckdb'}",
    ]
    if postgres_url:
        lines.append("  PostgreSQL:                        schema buildos_analytics")
    return lines


def dashboard_file_lines(dashboards: str | Path) -> list[str]:
    """Where the demo's dashboard files are (the PNG only when one was drawn)."""
    html, png = Path(dashboards) / "latest.html", Path(dashboards) / "latest.png"
    lines = [f"  executive dashboard:               {html.resolve()}"]
    if png.exists():
        lines.append(f"  dashboard snapshot (PNG):          {png.resolve()}")
    return lines


def delivery_lines(result) -> list[str]:
    """The dashboard's files and where it was delivered, from its materialization."""
    lines = []
    for event in result.get_asset_materialization_events():
        for name in ("html", "png", "delivered_to"):
            value = event.materialization.metadata.get(name)
            if value is not None:
                lines.append(f"  {name:<13} {getattr(value, 'value', value)}")
    return lines


def unsettled_lines(db: str | Path) -> list[str]:
    """One line per account whose latest sync did not succeed, from the work files of the
    accounts beside the shared file `db` (none before the first sync)."""
    from pipeline import warehouse
    from pipeline.buildos.runs import unsettled_accounts
    from pipeline.resources import ACCOUNT_FILE

    unsettled = []
    for path in sorted((Path(db).resolve().parent / "accounts").glob(f"*/{ACCOUNT_FILE}")):
        con = warehouse.connect(path, read_only=True)
        try:
            unsettled += unsettled_accounts(con)
        finally:
            con.close()
    return [
        f"  account {a}: sync {s} {status}" + (f" ({e})" if e else "")
        for a, s, status, e in unsettled
    ]


def portfolio_lines(db: str | Path) -> list[str]:
    """The headline numbers, read from the bi views (what the dashboard shows)."""
    from pipeline import warehouse
    from pipeline.dashboard import dashboard_data

    con = warehouse.connect(db, read_only=True)
    try:
        data = dashboard_data(con)
    finally:
        con.close()
    kpis, dumps, accounts = data["kpis"], data["braindumps"], data["per_account"]
    lines = [
        f"Portfolio as of {data['as_of_date']} ({len(accounts)} accounts):",
        f"  active projects        {kpis['active_projects']:>6}",
        f"  overall completion     {kpis['completion_pct']:>5.1f}%  "
        f"({kpis['done_tasks']:,} of {kpis['live_tasks']:,} live tasks done)",
        f"  tasks done this week   {kpis['completed_this_week']:>6}  "
        f"(same days last week {kpis['completed_same_days_last_week']})",
        f"  projects at risk       {kpis['at_risk_projects']:>6}",
        f"  brain dumps, 8 weeks   {dumps['created']:>6}  "
        f"({dumps['processed']} processed, {dumps['failed']} failed)",
        "  per account: active projects, completion, at risk",
    ]
    width = max((len(row["account_label"]) for row in accounts), default=0)
    for row in accounts:
        share = f"{row['completion_pct']:5.1f}%" if row["live_tasks"] else "    -"
        lines.append(
            f"    {row['account_label']:<{width}} {row['active_projects']:>3} active   {share}   "
            f"{row['at_risk_projects']} at risk"
        )
    return lines
