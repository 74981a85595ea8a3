"""Ingest: one multi-asset, partitioned by account, that syncs BuildOS into each account's
raw, current and history tables."""

from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime

import dagster as dg

from pipeline.buildos import landing
from pipeline.buildos.accounts import sync_accounts
from pipeline.buildos.records import ENTITIES
from pipeline.buildos.sync import SyncResult
from pipeline.leases import LeaseBusy
from pipeline.partitions import ACCOUNTS, backfill_policy, reconcile_hour, run_account_ids
from pipeline.resources import BuildOSResource, DuckDBWarehouse, ProgressReporter

DESCRIPTIONS = {
    "projects": "Every BuildOS project in every state, from the project bundle.",
    "tasks": "Tasks, live and soft-deleted (deleted_at set), with assignees.",
    "goals": "Project goals.",
    "milestones": "Milestones; state_key shows 'missed' as the API computes it.",
    "plans": "Project plans.",
    "documents": "Project documents (no bodies: the API does not serve them in bundles).",
    "edges": "The relationship graph (supports_goal, depends_on, blocks, has_*, ...).",
    "logs": "Activity logs, append-only, deduplicated by id.",
    "braindumps": "Brain dumps with content and processing fields.",
    "briefs": "Daily briefs, one per user per day.",
    "events": "Calendar events of each project (task work blocks and meetings).",
    "calendar_items": "The account's calendar: events and task dates in one list.",
}
HISTORY = [name for name, spec in ENTITIES.items() if spec.history]
INGEST_SPECS = (
    [
        dg.AssetSpec(
            ["buildos", name],
            group_name="buildos",
            kinds={"duckdb"},
            description=f"{DESCRIPTIONS[name]} Current state, one row per account and id; "
            "rows the API stopped returning keep _removed_at.",
        )
        for name in ENTITIES
    ]
    + [
        dg.AssetSpec(
            ["history", name],
            group_name="buildos",
            kinds={"duckdb"},
            description=f"Every distinct version of each of {name} the pipeline has seen, "
            "with valid_from / valid_to (independent of the activity logs).",
        )
        for name in HISTORY
    ]
    + [
        dg.AssetSpec(
            ["meta", "sync_runs"],
            group_name="buildos",
            kinds={"duckdb"},
            description="One row per sync run: requests, retries by cause, bytes, "
            "duration, records landed and quarantined.",
        ),
    ]
)


SYNC_CHECK = dg.AssetCheckSpec(
    "sync_succeeded",
    asset=["meta", "sync_runs"],
    description="Every account of the run synced whole. An account whose sync failed or was "
    "partial keeps its previous rows, and its marts are not released until a sync succeeds "
    "(unless the release is told to allow partial accounts).",
)


class SyncConfig(dg.Config):
    full: bool = False  # a full reconciliation of every account of the run
    # Each account is also reconciled in full once a day, in an hour of its own (a hash of its
    # id), so the daily reconciliation is spread over the day; off, only `full` and the
    # backstop (every Nth sync) decide.
    spread_reconciliation: bool = True
    reconcile_every: int = 30  # the backstop: every Nth sync is a full reconciliation anyway


@dg.multi_asset(
    specs=INGEST_SPECS,
    name="buildos_sync",
    partitions_def=ACCOUNTS,
    backfill_policy=backfill_policy(),
    op_tags={"dagster-celery/queue": "api"},
    check_specs=[SYNC_CHECK],
)
def buildos_sync(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    buildos: BuildOSResource,
    warehouse: DuckDBWarehouse,
    progress: dg.ResourceParam[ProgressReporter],
):
    """Sync the run's accounts, each into its own DuckDB file: the projects that changed (or
    all of them on a full reconciliation), brain dumps, daily briefs and the calendar. An
    account that fails keeps what it had and does not stop the others; the check below names
    it."""
    account_ids = run_account_ids(context)
    options = buildos.sync_options(full=config.full, reconcile_every=config.reconcile_every)
    hour = datetime.now(UTC).hour

    def full_for(account_id: str | None) -> bool:
        return config.spread_reconciliation and reconcile_hour(account_id or "") == hour

    @contextmanager
    def open_account(account_id: str | None):
        con = warehouse.connect_account(account_id)
        try:
            yield con
        finally:
            con.close()

    errors: dict[str, str] = {}
    with ExitStack() as leases:
        # Every account's lease first, outside the event loop: an account another run holds
        # past the wait is left out (and named), the others go on.
        leased = []
        for account_id in account_ids:
            try:
                leases.enter_context(warehouse.lease(account_id))
                leased.append(account_id)
            except LeaseBusy as busy:
                errors[account_id] = f"{type(busy).__name__}: {busy}"
        with buildos.accounts(only=leased) as accounts:
            synced = [account_id for _, account_id in accounts]
            for account_id in sorted(set(leased) - set(synced)):
                # Its entry's login failed, or it left the configuration since registration.
                errors[account_id] = "no configured BuildOS account resolves to this id"
            outcomes = sync_accounts(
                accounts,
                open_account,
                options,
                progress.update,
                buildos.deployment_limits(),
                full_for,
                buildos.fleet(),
            )
        # Counted while the leases are held: a file opened after they are given back can
        # meet the next run's sync of that account (DuckDB allows one writing process per
        # file), which then fails to open it.
        counts = _row_counts(warehouse, leased)
    errors |= {
        account_id: f"{type(o).__name__}: {o}"
        for account_id, o in zip(synced, outcomes, strict=True)
        if isinstance(o, BaseException)
    }
    results = [o for o in outcomes if isinstance(o, SyncResult)]
    for result in results:
        for example in result.quarantine_examples:
            context.log.warning(f"quarantined: {example}")
        for unit in result.failed:
            context.log.warning(
                f"account {result.account_id} sync {result.sync_id} partial: {unit['unit']} "
                f"{unit['id'] or ''} kept its previous rows: {unit['reason']}"
            )
    for account_id, error in errors.items():
        context.log.error(f"account {account_id}: the sync failed and kept its rows: {error}")
    for name in ENTITIES:
        yield dg.MaterializeResult(
            asset_key=["buildos", name],
            metadata={
                "row_count": counts[f"buildos.{name}"],
                "received_this_run": sum(r.landed.get(name, 0) for r in results),
            },
        )
    for name in HISTORY:
        yield dg.MaterializeResult(
            asset_key=["history", name], metadata={"row_count": counts[f"history.{name}"]}
        )
    totals = (
        {key: sum(r.stats.get(key, 0) for r in results) for key in results[0].stats}
        if results
        else {}
    )
    yield dg.MaterializeResult(
        asset_key=["meta", "sync_runs"],
        metadata={
            "accounts": len(account_ids),
            # A partial run is visible here, not green-and-silent: what failed, and why.
            "status": _overall_status(results, errors),
            "sync_runs": dg.MarkdownMetadataValue(_runs_table(results, errors)),
            "modes": ", ".join(sorted({r.mode for r in results})),
            "projects_fetched": sum(r.projects_fetched for r in results),
            "records_received": sum(r.records_landed for r in results),
            "quarantined": sum(r.quarantined for r in results),
            **totals,
        },
    )
    unsettled = sorted(
        [(r.account_id, r.status) for r in results if r.status != "succeeded"]
        + [(a, "failed") for a in errors]
    )
    yield dg.AssetCheckResult(
        check_name=SYNC_CHECK.name,
        asset_key=SYNC_CHECK.asset_key,
        passed=not unsettled,
        metadata={
            "unsettled_accounts": dg.MetadataValue.text(
                "\n".join(f"{a}: {status}" for a, status in unsettled) or "none"
            )
        },
    )


def _row_counts(warehouse: DuckDBWarehouse, account_ids: list[str]) -> dict[str, int]:
    """Rows of each landed table over these accounts (each in its own file, whose lease the
    caller holds)."""
    tables = [f"buildos.{n}" for n in ENTITIES] + [f"history.{n}" for n in HISTORY]
    counts = dict.fromkeys(tables, 0)
    for account_id in account_ids:
        if not warehouse.account_path(account_id).exists():
            continue
        con = warehouse.connect_account(account_id)
        try:
            landing.ensure_tables(con)
            for table in tables:
                counts[table] += con.execute(f"select count(*) from {table}").fetchall()[0][0]
        finally:
            con.close()
    return counts


def _overall_status(results, errors) -> str:
    if errors:
        return "failed" if not results else "partial"
    return "succeeded" if {r.status for r in results} <= {"succeeded"} else "partial"


def _runs_table(results, errors) -> str:
    lines = ["| sync_id | account | status | failed units |", "| --- | --- | --- | --- |"]
    for r in results:
        failed = "; ".join(f"{u['unit']} {u['id'] or ''}: {u['reason']}" for u in r.failed)
        lines.append(f"| {r.sync_id} | {r.account_id} | {r.status} | {failed or '-'} |")
    for account_id, error in errors.items():
        lines.append(f"| - | {account_id} | failed | {error} |")
    return "\n".join(lines)
