"""The command line: `buildos-analytics ...` or `python -m pipeline ...`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from pipeline.sandbox.cli import sandbox


@click.group(help="BuildOS analytics: sync, model and publish BuildOS data.")
def main() -> None:
    pass


main.add_command(sandbox)


def _buildos_resource(base_url, email, password, api_key, account_id, accounts_json=None):
    from pipeline.resources import BuildOSResource

    return BuildOSResource(
        base_url=base_url,
        email=email,
        password=password,
        api_key=api_key,
        account_id=account_id,
        accounts_json=accounts_json,
    )


db_option = click.option(
    "--db",
    envvar="BUILDOS_ANALYTICS_DB",
    default="data/warehouse.duckdb",
    show_default=True,
    help="The pipeline's DuckDB file.",
)


def connection_options(command):
    """Where BuildOS and the DuckDB file are; each falls back to its environment variable."""
    options = [
        click.option(
            "--base-url",
            envvar="BUILDOS_BASE_URL",
            default="sandbox",
            show_default=True,
            help="BuildOS base URL, or 'sandbox' for the embedded sandbox.",
        ),
        click.option("--email", envvar="BUILDOS_EMAIL", default=None),
        click.option(
            "--password",
            envvar="BUILDOS_PASSWORD",
            default=None,
            help="Prefer the BUILDOS_PASSWORD variable to this option.",
        ),
        click.option("--api-key", envvar="BUILDOS_API_KEY", default=None),
        click.option(
            "--account-id",
            envvar="BUILDOS_ACCOUNT_ID",
            default=None,
            help="Needed with an API key.",
        ),
        db_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command(help="Sync BuildOS into DuckDB (the buildos ingest assets).")
@connection_options
@click.option("--full", is_flag=True, help="Full reconciliation: refetch every project.")
@click.option(
    "--accounts-json",
    envvar="BUILDOS_ACCOUNTS",
    default=None,
    show_envvar=True,
    help="Several accounts: a JSON list of {email, password} or {api_key, account_id}. "
    "Prefer the variable to this option.",
)
def sync(base_url, email, password, api_key, account_id, db, full, accounts_json) -> None:
    from pipeline.resources import DuckDBWarehouse
    from pipeline.runner import RichProgress, materialize

    resource = _buildos_resource(base_url, email, password, api_key, account_id, accounts_json)
    with RichProgress() as progress:
        result = materialize(
            [["buildos", "projects"]],
            {
                "buildos": resource,
                "warehouse": DuckDBWarehouse(path=db),
            },
            {"ops": {"buildos_sync": {"config": {"full": full}}}},
            progress,
        )
    _print_materializations(result)
    click.echo(f"DuckDB file: {Path(db).resolve()}")


def _print_materializations(result) -> None:
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        rows = materialization.metadata.get("row_count")
        if rows is not None:
            key = materialization.asset_key.to_user_string()
            click.echo(f"  {key:<44} {rows.value:>10,} rows")
        elif materialization.asset_key.path == ["meta", "sync_runs"]:
            meta = {k: v.value for k, v in materialization.metadata.items()}
            click.echo(
                f"  sync: {meta['accounts']} account(s), {meta['modes']}, "
                f"{meta['projects_fetched']} projects fetched, {meta['requests']} "
                f"requests, {meta['quarantined']} quarantined, "
                f"{meta['duration_seconds']:.1f}s, {meta.get('status', 'succeeded')}"
            )
            if meta.get("status", "succeeded") != "succeeded":
                click.echo(f"  sync was partial (kept previous rows for):\n{meta['sync_runs']}")


MODEL_GROUPS = ("staging", "intermediate", "marts")


def publish_options(command):
    options = [
        click.option(
            "--exports",
            "exports_dir",
            envvar="BUILDOS_ANALYTICS_EXPORTS",
            default="exports",
            show_default=True,
            help="The exports folder.",
        ),
        click.option(
            "--postgres-url",
            envvar="BUILDOS_ANALYTICS_POSTGRES_URL",
            default=None,
            help="SQLAlchemy URL (postgresql+psycopg://...) to publish to.",
        ),
        click.option(
            "--include-free-text", is_flag=True, help="Also export free text (left out by default)."
        ),
        click.option(
            "--per-account",
            is_flag=True,
            help="Also write one export per account under exports/accounts/.",
        ),
        click.option(
            "--spreadsheets",
            is_flag=True,
            help="Also write CSV files and an Excel workbook (exports/current/spreadsheets/).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _publish_resource(exports_dir, postgres_url, include_free_text, per_account, spreadsheets):
    from pipeline.resources import PublishSettings

    return PublishSettings(
        exports_dir=exports_dir,
        postgres_url=postgres_url,
        include_free_text=include_free_text,
        per_account=per_account,
        spreadsheets=spreadsheets,
    )


def _keys_in_groups(groups) -> list[list[str]]:
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return [
        key.path
        for key in sorted(graph.get_all_asset_keys())
        if graph.get(key).group_name in groups
    ]


ALLOW_PARTIAL = click.option(
    "--allow-partial",
    is_flag=True,
    help="Go on past accounts whose latest sync did not succeed; the release manifest names "
    "each account's sync and its status.",
)


def _refuse_unsettled(db, allow_partial: bool, step: str) -> None:
    """Refuse (or, with --allow-partial, warn) when an account's latest sync is not whole."""
    from pipeline import warehouse
    from pipeline.buildos.runs import unsettled_accounts

    if not Path(db).exists():
        return
    con = warehouse.connect(db, read_only=True)
    try:
        unsettled = unsettled_accounts(con)
    finally:
        con.close()
    if not unsettled:
        return
    lines = "\n".join(
        f"  account {a}: sync {s} {status}" + (f" ({e})" if e else "")
        for a, s, status, e in unsettled
    )
    if not allow_partial:
        raise click.ClickException(
            f"{step} refused: the latest sync of these accounts did not succeed, so their "
            f"data is not whole:\n{lines}\nrun `python -m pipeline sync` again, or pass "
            "--allow-partial to go on (the manifest names each sync and its status)"
        )
    click.echo(f"  {step} goes on past syncs that did not succeed (--allow-partial):\n{lines}")


@main.command(help="Build the models and run their checks (staging, intermediate, marts).")
@db_option
@ALLOW_PARTIAL
def build(db, allow_partial) -> None:
    from pipeline.resources import DuckDBWarehouse
    from pipeline.runner import materialize

    _refuse_unsettled(db, allow_partial, "build")
    result = materialize(
        _keys_in_groups(MODEL_GROUPS), {"warehouse": DuckDBWarehouse(path=db)}, raise_on_error=False
    )
    _print_materializations(result)
    _print_checks(result)
    if not result.success:
        raise click.ClickException(
            "the build stopped: a blocking check failed or a model "
            "errored (see above); models downstream were not built"
        )


@main.command(
    help="Publish for BI tools: bi views, Parquet exports, the serving file, and "
    "PostgreSQL when a URL is configured."
)
@db_option
@publish_options
@ALLOW_PARTIAL
def publish(
    db, exports_dir, postgres_url, include_free_text, per_account, spreadsheets, allow_partial
) -> None:
    from pipeline.resources import DuckDBWarehouse
    from pipeline.runner import materialize

    _refuse_unsettled(db, allow_partial, "publish")
    result = materialize(
        _keys_in_groups(("publish",)),
        {
            "warehouse": DuckDBWarehouse(path=db),
            "publish": _publish_resource(
                exports_dir, postgres_url, include_free_text, per_account, spreadsheets
            ),
        },
        raise_on_error=False,
    )
    _print_checks(result)
    if not result.success:
        raise click.ClickException(_publish_failure(result))
    _print_outputs(db, exports_dir, postgres_url)
    if spreadsheets:
        folder = Path(exports_dir).resolve() / "current" / "spreadsheets"
        click.echo(f"  CSV files and Excel workbook:      {folder}")


def _publish_failure(result) -> str:
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
    errors = "".join(f"\n  {error}" for error in _step_errors(result))
    return f"publishing stopped at {', '.join(failed) or 'a step'} (see above); {seen}{errors}"


def _print_outputs(db, exports_dir, postgres_url) -> None:
    exports = Path(exports_dir).resolve()
    click.echo("Outputs:")
    click.echo(f"  DuckDB file (pipeline, bi views):  {Path(db).resolve()}")
    click.echo(f"  Parquet exports:                   {exports / 'current'}")
    click.echo(f"  portable views over the Parquet:   {exports / 'current' / 'views.sql'}")
    click.echo(f"  serving file for BI (read-only):   {exports / 'analytics.duckdb'}")
    if postgres_url:
        click.echo("  PostgreSQL:                        schema buildos_analytics")


def _step_errors(result) -> list[str]:
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


def _print_checks(result) -> None:
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    click.echo(f"  checks: {len(evaluations) - len(failed)} passed, {len(failed)} failed")
    for evaluation in failed:
        click.echo(
            f"    FAILED {evaluation.asset_key.to_user_string()} "
            f"{evaluation.check_name}: {evaluation.metadata.get('failing_rows')}"
        )


DEMO_STAGES = (
    (("buildos",), "sync the embedded BuildOS sandbox (3 accounts) into DuckDB"),
    (MODEL_GROUPS, "build the staging, intermediate and mart models, run their checks"),
    (("publish",), "publish: bi views, Parquet exports, the serving file"),
    (("dashboards",), "draw the executive dashboard (HTML and PNG)"),
)


@main.command(
    help="Run the whole pipeline against the embedded sandbox: sync, models, "
    "exports and the dashboard; then say where everything is."
)
@db_option
@click.option(
    "--exports",
    "exports_dir",
    envvar="BUILDOS_ANALYTICS_EXPORTS",
    default="exports",
    show_default=True,
)
def demo(db, exports_dir) -> None:
    import time

    from pipeline.resources import (
        BuildOSResource,
        DeliverySettings,
        DuckDBWarehouse,
        PublishSettings,
    )
    from pipeline.runner import RichProgress, materialize

    resources = {
        "buildos": BuildOSResource(),
        "warehouse": DuckDBWarehouse(path=db),
        "publish": PublishSettings(exports_dir=exports_dir),
        "deliver": DeliverySettings(dashboard_dir=str(Path(exports_dir) / "dashboards")),
    }
    started = time.perf_counter()
    with RichProgress() as progress:
        for number, (groups, text) in enumerate(DEMO_STAGES, start=1):
            progress.update("pipeline steps", number - 1, len(DEMO_STAGES))
            progress.message(f"[{number}/{len(DEMO_STAGES)}] {text}")
            result = materialize(
                _keys_in_groups(groups), resources, None, progress, raise_on_error=False
            )
            if not result.success:
                _print_checks(result)
                raise click.ClickException(f"the {text!r} step failed; see above")
        progress.update("pipeline steps", len(DEMO_STAGES), len(DEMO_STAGES))
    click.echo(f"Done in {time.perf_counter() - started:.0f}s.\n")
    _print_summary(db)
    click.echo("")
    _print_outputs(db, exports_dir, None)
    dashboards = Path(exports_dir) / "dashboards"
    click.echo(f"  executive dashboard:               {(dashboards / 'latest.html').resolve()}")
    if (dashboards / "latest.png").exists():
        click.echo(f"  dashboard snapshot (PNG):          {(dashboards / 'latest.png').resolve()}")
    click.echo('  next: python -m pipeline status "<project name>", or make ui (the Dagster UI)')


def _print_summary(db) -> None:
    """The headline numbers, read from the bi views (what the dashboard shows)."""
    from pipeline import warehouse
    from pipeline.dashboard import dashboard_data

    con = warehouse.connect(db, read_only=True)
    try:
        data = dashboard_data(con)
    finally:
        con.close()
    kpis, dumps, accounts = data["kpis"], data["braindumps"], data["per_account"]
    click.echo(f"Portfolio as of {data['as_of_date']} ({len(accounts)} accounts):")
    click.echo(f"  active projects        {kpis['active_projects']:>6}")
    click.echo(
        f"  overall completion     {kpis['completion_pct']:>5.1f}%  "
        f"({kpis['done_tasks']:,} of {kpis['live_tasks']:,} live tasks done)"
    )
    click.echo(
        f"  tasks done this week   {kpis['completed_this_week']:>6}  "
        f"(same days last week {kpis['completed_same_days_last_week']})"
    )
    click.echo(f"  projects at risk       {kpis['at_risk_projects']:>6}")
    click.echo(
        f"  brain dumps, 8 weeks   {dumps['created']:>6}  "
        f"({dumps['processed']} processed, {dumps['failed']} failed)"
    )
    click.echo("  per account: active projects, completion, at risk")
    width = max((len(row["account_label"]) for row in accounts), default=0)
    for row in accounts:
        share = f"{row['completion_pct']:5.1f}%" if row["live_tasks"] else "    -"
        click.echo(
            f"    {row['account_label']:<{width}} {row['active_projects']:>3} active   {share}   "
            f"{row['at_risk_projects']} at risk"
        )


@main.command(
    help="Draw the executive dashboard from the bi views (HTML and PNG) and "
    "deliver it where configured."
)
@db_option
@click.option(
    "--out",
    "dashboard_dir",
    envvar="BUILDOS_DASHBOARD_DIR",
    default="exports/dashboards",
    show_default=True,
)
def dashboard(db, dashboard_dir) -> None:
    from pipeline.resources import DuckDBWarehouse, delivery_from_env
    from pipeline.runner import materialize

    result = materialize(
        [["dashboards", "executive"]],
        {
            "warehouse": DuckDBWarehouse(path=db),
            # a resource's fields are its config: model_copy would leave the run's copy as is
            "deliver": delivery_from_env(dashboard_dir=dashboard_dir),
        },
    )
    for event in result.get_asset_materialization_events():
        for name in ("html", "png", "delivered_to"):
            value = event.materialization.metadata.get(name)
            if value is not None:
                click.echo(f"  {name:<13} {getattr(value, 'value', value)}")


@main.command(
    help="Print one live project's status as JSON (state, completion, blockers and why, next "
    "milestone, recent updates, at risk and why), the answer the MCP tool project_status gives. "
    "PROJECT is its id, or its name in any case; no match or several matches exit with code 2."
)
@click.argument("project")
@db_option
def status(project, db) -> None:
    from pipeline.mcp.source import Ambiguous, AnswerError, Source
    from pipeline.mcp.status import project_status

    # The pipeline's own file holds the free text; whoever can read it may see it.
    try:
        with Source(Path(db), include_free_text=True).open() as reader:
            answer = project_status(reader, project)
    except Ambiguous as exc:
        click.echo(f"{exc}:", err=True)
        for c in exc.candidates:
            click.echo(
                f"  {c['project_id']}  {c['project_name']}  (account {c['account_label']})",
                err=True,
            )
        sys.exit(2)
    except AnswerError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())


@main.command(
    help="Serve project status to AI agents (Model Context Protocol), read-only over the "
    "serving file: over stdio (the default, for a client that starts it) or streamable HTTP."
)
@click.option(
    "--exports",
    "exports_dir",
    envvar="BUILDOS_ANALYTICS_EXPORTS",
    default="exports",
    show_default=True,
    help="The exports folder holding analytics.duckdb.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="Serve only this account id (repeatable); default every account in the file. "
    "Env BUILDOS_MCP_ACCOUNTS (comma list).",
)
@click.option("--include-free-text", is_flag=True, help="Also answer with free text (log lines).")
@click.option(
    "--transport", type=click.Choice(["stdio", "http"]), default="stdio", show_default=True
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
def mcp(exports_dir, accounts, include_free_text, transport, host, port) -> None:
    from pipeline.mcp.server import serve, source_for

    source = source_for(exports_dir, accounts, include_free_text)
    if transport == "http":
        click.echo(f"MCP server on http://{host}:{port}/mcp (reading {source.path})", err=True)
    try:
        serve(source, transport, host, port)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


if __name__ == "__main__":
    main()
