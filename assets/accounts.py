"""Each account's hand-off (its checked marts as Parquet, one release per change), and the
fan-in that gathers every account's current release into the shared file the publish steps
read."""

import dagster as dg

from assets.models import MODELS
from pipeline import account_build, handoff
from pipeline.buildos.runs import latest_sync
from pipeline.lake import LakeSettings
from pipeline.lake_fan_in import fan_in
from pipeline.partitions import ACCOUNTS, backfill_policy, run_account_ids
from pipeline.resources import DuckDBWarehouse

MARTS = [m for m in MODELS if m.layer == "marts"]
RELEASE_KEY = dg.AssetKey(["accounts", "release"])


class ReleaseConfig(dg.Config):
    # Release an account whose latest sync was partial or failed (its release says so).
    allow_partial: bool = False


@dg.asset(
    key=RELEASE_KEY,
    group_name="accounts",
    kinds={"parquet"},
    deps=[dg.AssetKey([m.schema, m.name]) for m in MARTS],
    partitions_def=ACCOUNTS,
    backfill_policy=backfill_policy(),
    op_tags={"dagster-celery/queue": "cpu"},
)
def account_release(
    context: dg.AssetExecutionContext, config: ReleaseConfig, warehouse: DuckDBWarehouse
) -> dg.MaterializeResult:
    """Each account's marts as a Parquet release beside its work file, when they changed and
    only when they can be trusted: an account whose latest sync did not succeed, or whose
    checks failed, is held back, and the shared layer keeps its previous release."""
    released, unchanged, held = [], [], {}
    for account_id in run_account_ids(context):
        folder = warehouse.account_folder(account_id)
        if not warehouse.account_path(account_id).exists():
            held[account_id] = "never synced"
            continue
        with warehouse.account(account_id) as con:
            sync = latest_sync(con, account_id)
            failing = account_build.failing_checks(con)
            if sync is None:
                held[account_id] = "never synced"
            elif sync[1] != "succeeded" and not config.allow_partial:
                held[account_id] = f"its latest sync {sync[0]} is {sync[1]}"
            elif failing:
                held[account_id] = "checks failed: " + ", ".join(
                    f"{model} {test} ({rows} rows)" for model, test, rows in failing
                )
            else:
                version = handoff.marts_version(con, MARTS)
                now = handoff.current(folder)
                if now and now["version"] == version:  # the same rows: nothing to release
                    unchanged.append(account_id)
                else:
                    handoff.write(con, folder, account_id, MARTS, sync, version)
                    released.append(account_id)
    for account_id, reason in held.items():
        context.log.warning(f"account {account_id} not released, keeps its last release: {reason}")
    return dg.MaterializeResult(
        metadata={
            "released": len(released),
            "unchanged": len(unchanged),
            "held_back": len(held),
            "held_back_accounts": dg.MetadataValue.text(
                "\n".join(f"{a}: {r}" for a, r in held.items()) or "none"
            ),
        }
    )


SHARED_SPECS = [
    dg.AssetSpec(
        ["shared", m.name],
        group_name="shared",
        kinds={"duckdb"},
        deps=[RELEASE_KEY],
        description=f"Every account's marts.{m.name}, from each one's current release, in the "
        "shared file.",
    )
    for m in MARTS
] + [
    dg.AssetSpec(
        ["shared", "account_releases"],
        group_name="shared",
        kinds={"duckdb"},
        deps=[RELEASE_KEY],
        description="Which release, and so which sync, each account's rows in the shared "
        "file come from.",
    )
]


@dg.multi_asset(specs=SHARED_SPECS, name="shared_marts", pool="shared_writer")
def shared_marts(context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse):
    """Gather every registered account's current release into the shared lake (DuckLake: one
    commit, one snapshot; pipeline/lake) and the shared file, each in one transaction: only
    the accounts with a newer release are replaced."""
    account_ids = sorted(context.instance.get_dynamic_partitions(ACCOUNTS.name))
    # The lake first (one DuckLake commit), then the shared file from the same releases.
    settings = LakeSettings.from_env(data_root=warehouse.root)
    con = warehouse.connect()
    try:
        committed, result = fan_in(settings, warehouse.root, con, account_ids)
    finally:
        con.close()
    snapshot = committed.snapshot
    if result.unreleased:
        context.log.warning(
            f"{len(result.unreleased)} accounts have no release yet: "
            + ", ".join(result.unreleased[:20])
        )
    for m in MARTS:
        yield dg.MaterializeResult(
            asset_key=["shared", m.name], metadata={"row_count": result.tables.get(m.name, 0)}
        )
    yield dg.MaterializeResult(
        asset_key=["shared", "account_releases"],
        metadata={
            "accounts": len(account_ids),
            "loaded": len(result.loaded),
            "removed": len(result.removed),
            "unreleased": len(result.unreleased),
            "lake_snapshot": snapshot.snapshot_id,
            "lake_committed": len(committed.committed),
            "lake_catalog": settings.catalog_label,
        },
    )


account_assets = [account_release, shared_marts]
