"""The command line: `buildos-analytics ...` or `python -m pipeline ...`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline import summary
from pipeline.sandbox.cli import sandbox


@click.group(help="BuildOS analytics: sync, model and publish BuildOS data.")
def main() -> None:
    pass


main.add_command(sandbox)


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _default(resource: str, field: str) -> dict:
    """An option's default: the resource field's, read when the command runs (the resources
    module loads Dagster, which `--help` and the sandbox commands need not wait for)."""

    def default():
        from pipeline import resources

        return getattr(resources, resource).model_fields[field].default

    return {"default": default, "show_default": f"{resource}.{field}"}


def exports_option(help_text: str = "The exports folder."):
    return click.option(
        "--exports",
        "exports_dir",
        envvar="BUILDOS_ANALYTICS_EXPORTS",
        **_default("PublishSettings", "exports_dir"),
        help=help_text,
    )


db_option = click.option(
    "--db",
    envvar="BUILDOS_ANALYTICS_DB",
    **_default("DuckDBWarehouse", "path"),
    help="The pipeline's DuckDB file.",
)


def connection_options(command):
    """Where BuildOS and the DuckDB file are; each falls back to its environment variable."""
    options = [
        click.option(
            "--base-url",
            envvar="BUILDOS_BASE_URL",
            **_default("BuildOSResource", "base_url"),
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
    from pipeline.resources import BuildOSResource, DuckDBWarehouse
    from pipeline.runner import AccountsLeftOut, NoAccounts, RichProgress, materialize

    resource = BuildOSResource(
        base_url=base_url,
        email=email,
        password=password,
        api_key=api_key,
        account_id=account_id,
        accounts_json=accounts_json,
    )
    left_out = None
    with RichProgress() as progress:
        try:
            result = materialize(
                [["buildos", "projects"]],
                {
                    "buildos": resource,
                    "warehouse": DuckDBWarehouse(path=db),
                },
                {"ops": {"buildos_sync": {"config": {"full": full}}}},
                progress,
            )
        except AccountsLeftOut as error:
            result, left_out = error.result, error
        except NoAccounts as error:
            raise click.ClickException(f"sync: {error}") from None
    _echo(summary.materialization_lines(result))
    click.echo(f"DuckDB file: {Path(db).resolve()}")
    if left_out is not None:  # after the others' summary, and a failing exit for schedulers
        raise click.ClickException(f"sync: {left_out}")


MODEL_GROUPS = ("staging", "intermediate", "marts")
PUBLISH_GROUPS = ("accounts", "shared", "publish")


def publish_options(command):
    options = [
        exports_option(),
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
    lines = "\n".join(summary.unsettled_lines(db))
    if not lines:
        return
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
    _echo(summary.materialization_lines(result))
    _echo(summary.check_lines(result))
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
    from pipeline.resources import DuckDBWarehouse, PublishSettings
    from pipeline.runner import materialize

    _refuse_unsettled(db, allow_partial, "publish")
    result = materialize(
        _keys_in_groups(PUBLISH_GROUPS),
        {
            "warehouse": DuckDBWarehouse(path=db),
            "publish": PublishSettings(
                exports_dir=exports_dir,
                postgres_url=postgres_url,
                include_free_text=include_free_text,
                per_account=per_account,
                spreadsheets=spreadsheets,
            ),
        },
        {"ops": {"accounts__release": {"config": {"allow_partial": allow_partial}}}},
        raise_on_error=False,
    )
    _echo(summary.check_lines(result))
    if not result.success:
        raise click.ClickException(summary.publish_failure(result))
    _echo(summary.output_lines(db, exports_dir, postgres_url))
    if spreadsheets:
        folder = Path(exports_dir).resolve() / "current" / "spreadsheets"
        click.echo(f"  CSV files and Excel workbook:      {folder}")


DEMO_STAGES = (
    (("buildos",), "sync the embedded BuildOS sandbox (3 accounts) into DuckDB"),
    (MODEL_GROUPS, "build the staging, intermediate and mart models, run their checks"),
    (PUBLISH_GROUPS, "publish: each account's release, the shared marts, bi views, exports"),
    (("dashboards",), "draw the executive dashboard (HTML and PNG)"),
)


@main.command(
    help="Run the whole pipeline against the embedded sandbox: sync, models, "
    "exports and the dashboard; then say where everything is."
)
@db_option
@exports_option()
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
                _echo(summary.check_lines(result))
                raise click.ClickException(f"the {text!r} step failed; see above")
        progress.update("pipeline steps", len(DEMO_STAGES), len(DEMO_STAGES))
    click.echo(f"Done in {time.perf_counter() - started:.0f}s.\n")
    _echo(summary.portfolio_lines(db))
    click.echo("")
    _echo(summary.output_lines(db, exports_dir, None))
    _echo(summary.dashboard_file_lines(Path(exports_dir) / "dashboards"))
    click.echo('  next: python -m pipeline status "<project name>", or make ui (the Dagster UI)')


@main.command(
    help="Draw the executive dashboard from the bi views (HTML and PNG) and "
    "deliver it where configured."
)
@db_option
@click.option(
    "--out",
    "dashboard_dir",
    envvar="BUILDOS_DASHBOARD_DIR",
    **_default("DeliverySettings", "dashboard_dir"),
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
    _echo(summary.delivery_lines(result))


@main.command(
    help="Print one live project's status as JSON (state, completion, blockers and why, next "
    "milestone, recent updates, at risk and why), the answer the MCP tool project_status gives. "
    "PROJECT is its id, or its name in any case; no match or several matches exit with code 2."
)
@click.argument("project")
@db_option
def status(project, db) -> None:
    from pipeline.status import StatusNotAnswered, project_status_json

    try:
        answer = project_status_json(db, project)
    except StatusNotAnswered as exc:
        for line in exc.lines:
            click.echo(line, err=True)
        sys.exit(2)
    click.echo(answer)


@main.command(
    help="Serve project status to AI agents (Model Context Protocol), read-only over the "
    "serving file: over stdio (the default, for a client that starts it) or streamable HTTP."
)
@exports_option("The exports folder holding analytics.duckdb.")
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
