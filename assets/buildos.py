"""Ingest: one multi-asset that syncs BuildOS into the raw, current and history tables."""

import dagster as dg

from pipeline.buildos.records import ENTITIES
from pipeline.buildos.sync import SyncOptions, run_sync
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


class SyncConfig(dg.Config):
    full: bool = False  # a full reconciliation: refetch everything, notice silent changes
    reconcile_every: int = 24  # every Nth sync is a full reconciliation anyway


@dg.multi_asset(specs=INGEST_SPECS, name="buildos_sync", pool="duckdb_writer")
def buildos_sync(
    context: dg.AssetExecutionContext,
    config: SyncConfig,
    buildos: BuildOSResource,
    warehouse: DuckDBWarehouse,
    progress: dg.ResourceParam[ProgressReporter],
):
    """Sync every configured BuildOS account: the projects that changed (or all of them on a
    full reconciliation), brain dumps, daily briefs and the calendar."""
    options = SyncOptions(
        full=config.full,
        reconcile_every=config.reconcile_every,
        account_concurrency=buildos.account_concurrency,
    )
    con = warehouse.connect()
    try:
        with buildos.accounts() as accounts:
            results = run_sync(accounts, con, options, progress.update, buildos.deployment_limits())
        counts = {
            table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
            for table in [f"buildos.{n}" for n in ENTITIES] + [f"history.{n}" for n in HISTORY]
        }
    finally:
        con.close()
    quarantined = sum(r.quarantined for r in results)
    for result in results:
        for example in result.quarantine_examples:
            context.log.warning(f"quarantined: {example}")
        for unit in result.failed:
            context.log.warning(
                f"sync {result.sync_id} partial: {unit['unit']} {unit['id'] or ''} "
                f"kept its previous rows: {unit['reason']}"
            )
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
            "accounts": len(results),
            # A partial run is visible here, not green-and-silent: what failed, and why.
            "status": _overall_status(results),
            "sync_runs": dg.MarkdownMetadataValue(_runs_table(results)),
            "modes": ", ".join(sorted({r.mode for r in results})),
            "projects_fetched": sum(r.projects_fetched for r in results),
            "records_received": sum(r.records_landed for r in results),
            "quarantined": quarantined,
            **totals,
        },
    )


def _overall_status(results) -> str:
    statuses = {r.status for r in results}
    return "succeeded" if statuses <= {"succeeded"} else "partial"


def _runs_table(results) -> str:
    lines = ["| sync_id | account | status | failed units |", "| --- | --- | --- | --- |"]
    for r in results:
        failed = "; ".join(f"{u['unit']} {u['id'] or ''}: {u['reason']}" for u in r.failed)
        lines.append(f"| {r.sync_id} | {r.account_id} | {r.status} | {failed or '-'} |")
    return "\n".join(lines)
