"""Publish: the bi views, a Parquet release guarded by checks, then the swaps BI tools read."""

from pathlib import Path

import dagster as dg

from pipeline import safety
from pipeline.preview import preview_markdown
from pipeline.publish import exports, serving
from pipeline.publish.contract import (
    ACCOUNT_LABEL,
    ACCOUNTS,
    PublicTable,
    is_labelled,
    public_tables,
)
from pipeline.resources import DuckDBWarehouse, PublishSettings


def column_schema(table: PublicTable) -> dg.TableSchema:
    """The view's columns with their DuckDB types and docs, from the mart's .yml."""
    columns = [
        dg.TableColumn(name, type=table.data_type(name) or "unknown", description=text or None)
        for name, text in table.model.columns.items()
    ]
    if is_labelled(table, list(table.model.columns)):
        accounts = next(t for t in public_tables() if t.name == ACCOUNTS)
        columns.append(
            dg.TableColumn(
                ACCOUNT_LABEL,
                type=accounts.data_type(ACCOUNT_LABEL) or "unknown",
                description=accounts.comment(ACCOUNT_LABEL),
            )
        )
    return dg.TableSchema(columns=columns)


BI_SPECS = [
    dg.AssetSpec(
        ["bi", t.name],
        group_name="publish",
        kinds={"duckdb"},
        deps=[dg.AssetKey(["shared", t.name])],
        description=f"The public view over marts.{t.name}. {t.description}",
        metadata={"dagster/column_schema": column_schema(t)},
    )
    for t in public_tables()
]


@dg.multi_asset(specs=BI_SPECS, name="bi_views", pool="shared_writer")
def bi_views(warehouse: DuckDBWarehouse):
    """The bi schema of the pipeline's DuckDB: one documented view per mart (COMMENT ON)."""
    con = warehouse.connect()
    try:
        counts = exports.bi_views_in_warehouse(con)
        previews = {view: preview_markdown(con, view) for view in counts}
    finally:
        con.close()
    for view, rows in counts.items():
        yield dg.MaterializeResult(
            asset_key=view.split("."),
            metadata={"row_count": rows, "preview": dg.MetadataValue.md(previews[view])},
        )


@dg.asset(
    key=["exports", "release"],
    group_name="publish",
    kinds={"parquet"},
    deps=[spec.key for spec in BI_SPECS],
    pool="shared_writer",
)
def exports_release(
    context: dg.AssetExecutionContext, warehouse: DuckDBWarehouse, publish: PublishSettings
) -> dg.MaterializeResult:
    """A new Parquet release of every mart (zstd; daily facts partitioned by month) with its
    manifest.json and a portable views.sql, written aside under releases/. Not yet visible:
    exports/current moves to it only when its checks pass."""
    root = Path(publish.exports_dir)
    con = warehouse.connect(read_only=True)
    try:
        manifest = exports.write_release(
            con,
            root,
            include_free_text=publish.include_free_text,
            spreadsheets=publish.spreadsheets,
        )
        account_manifests = []
        if publish.per_account:
            for account_id in exports.account_ids(con):
                account_manifests.append(
                    exports.write_release(
                        con,
                        safety.account_root(root, account_id),
                        include_free_text=publish.include_free_text,
                        account_id=account_id,
                        release_id=manifest["release_id"],
                    )
                )
    finally:
        con.close()
    return dg.MaterializeResult(
        metadata={
            "release_id": manifest["release_id"],
            "path": dg.MetadataValue.path(str(root / "releases" / manifest["release_id"])),
            "tables": len(manifest["tables"]),
            "row_count": sum(t["rows"] for t in manifest["tables"].values()),
            "export_seconds": manifest["export_seconds"],
            "accounts_exported": len(account_manifests),
            "include_free_text": publish.include_free_text,
            "spreadsheets": publish.spreadsheets,
        }
    )


def _latest_release(context, key: list[str]) -> str:
    event = context.instance.get_latest_materialization_event(dg.AssetKey(key))
    return event.asset_materialization.metadata["release_id"].value


@dg.asset_check(
    asset=exports_release,
    blocking=True,
    description="No published column disappeared or changed type without a schema "
    "version bump (BI dashboards break silently on that).",
)
def schema_is_compatible(
    context: dg.AssetCheckExecutionContext, publish: PublishSettings
) -> dg.AssetCheckResult:
    root = Path(publish.exports_dir)
    new = exports.release_manifest(root, _latest_release(context, ["exports", "release"]))
    problems = exports.schema_breaks(exports.current_manifest(root), new)
    return dg.AssetCheckResult(
        passed=not problems, metadata={"problems": dg.MetadataValue.text("\n".join(problems))}
    )


@dg.asset_check(
    asset=exports_release,
    blocking=True,
    description="Every exported table holds exactly the rows of its mart.",
)
def rows_match_marts(
    context: dg.AssetCheckExecutionContext, warehouse: DuckDBWarehouse, publish: PublishSettings
) -> dg.AssetCheckResult:
    root = Path(publish.exports_dir)
    manifest = exports.release_manifest(root, _latest_release(context, ["exports", "release"]))
    con = warehouse.connect(read_only=True)
    try:
        differences = {
            name: (spec["rows"], con.execute(f"select count(*) from marts.{name}").fetchall()[0][0])
            for name, spec in manifest["tables"].items()
        }
    finally:
        con.close()
    wrong = {n: v for n, v in differences.items() if v[0] != v[1]}
    return dg.AssetCheckResult(passed=not wrong, metadata={"mismatches": str(wrong)})


@dg.asset(
    key=["exports", "current"], group_name="publish", kinds={"parquet"}, deps=[exports_release]
)
def exports_current(
    context: dg.AssetExecutionContext, publish: PublishSettings
) -> dg.MaterializeResult:
    """exports/current, switched atomically to the checked release (older ones pruned)."""
    root = Path(publish.exports_dir)
    release_id = _latest_release(context, ["exports", "release"])
    exports.swap_current(root, release_id, keep=publish.keep_releases)
    if publish.per_account:
        for account_root in sorted((root / "accounts").glob("*")):
            account_root = safety.account_root(root, account_root.name)
            if (account_root / "releases" / release_id).exists():
                exports.swap_current(account_root, release_id, keep=publish.keep_releases)
    return dg.MaterializeResult(
        metadata={
            "release_id": release_id,
            "path": dg.MetadataValue.path(str((root / "current").resolve())),
        }
    )


@dg.asset(
    key=["exports", "analytics_duckdb"],
    group_name="publish",
    kinds={"duckdb"},
    deps=[exports_release],
)
def serving_file(
    context: dg.AssetExecutionContext, publish: PublishSettings
) -> dg.MaterializeResult:
    """exports/analytics.duckdb: the checked release as DuckDB tables and bi views, built
    aside and moved in with one rename, for BI tools to open read-only."""
    root = Path(publish.exports_dir)
    release_id = _latest_release(context, ["exports", "release"])
    path = serving.build_serving_file(root, release_id)
    return dg.MaterializeResult(
        metadata={
            "release_id": release_id,
            "path": dg.MetadataValue.path(str(path.resolve())),
            "bytes": path.stat().st_size,
        }
    )


@dg.asset(
    key=["postgres", "buildos_analytics"],
    group_name="publish",
    kinds={"postgres"},
    deps=[exports_release],
    output_required=False,
)
def postgres_copy(context: dg.AssetExecutionContext, publish: PublishSettings):
    """The checked release in PostgreSQL when BUILDOS_ANALYTICS_POSTGRES_URL is set: each
    account whose release changed replaced in one short transaction that gives way to
    readers, removed accounts deleted, the rest untouched; a changed table contract built
    whole beside the published schema (keys, indexes, comments) and the stable bi_ views
    switched to it. Without a URL nothing is published and the asset is not materialized."""
    if not publish.postgres_url:
        context.log.info("PostgreSQL is off: no BUILDOS_ANALYTICS_POSTGRES_URL configured")
        return
    from pipeline.publish.postgres import publish_release

    release_id = _latest_release(context, ["exports", "release"])
    result = publish_release(
        publish.postgres_url,
        Path(publish.exports_dir),
        release_id,
        publish.postgres_schema,
        publish.switch_policy(),
    )
    yield dg.MaterializeResult(
        metadata={
            **{k: v for k, v in result.items() if k != "dropped_releases"},
            "dropped_releases": ", ".join(result["dropped_releases"]) or "none",
            "row_count": result["rows"],
        }
    )


publish_assets = [bi_views, exports_release, exports_current, serving_file, postgres_copy]
publish_checks = [schema_is_compatible, rows_match_marts]
