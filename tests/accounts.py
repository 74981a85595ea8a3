"""Helpers for tests that run the account-partitioned assets: the account work files beside
a shared DuckDB file, and a materialize over every configured account's partition."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline.definitions import defs
from pipeline.partitions import ACCOUNTS, range_tags
from pipeline.resources import ACCOUNT_FILE, BuildOSResource
from pipeline.runner import register_accounts


def account_files(db: str | Path) -> dict[str, Path]:
    """account id -> its work file, for the accounts synced beside the shared file `db`."""
    folder = Path(db).resolve().parent / "accounts"
    return {path.parent.name: path for path in sorted(folder.glob(f"*/{ACCOUNT_FILE}"))}


def account_rows(db: str | Path, sql: str) -> list[tuple]:
    """The rows `sql` gives in every account's work file beside `db`, together, sorted."""
    from pipeline import warehouse

    found = []
    for path in account_files(db).values():
        con = warehouse.connect(path, read_only=True)
        try:
            found += con.execute(sql).fetchall()
        finally:
            con.close()
    return sorted(found)


def the_account_file(db: str | Path) -> Path:
    """The work file of the one account synced beside `db`."""
    [path] = account_files(db).values()
    return path


def materialize(
    selection: dg.AssetSelection | None,
    resources: dict,
    run_config: dict | None = None,
    instance: dg.DagsterInstance | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """The Definitions' assets in one run over every account `resources["buildos"]` configures
    (registered as partitions on `instance`, an ephemeral one by default)."""
    instance = instance or dg.DagsterInstance.ephemeral()
    merged = {**defs.resources, **resources}
    buildos = merged["buildos"]
    if not isinstance(buildos, BuildOSResource):
        buildos = buildos.process_config_and_initialize()
    keys = instance.get_dynamic_partitions(ACCOUNTS.name) or register_accounts(
        instance, buildos.account_ids()
    )
    return dg.materialize(
        [*defs.assets, *(defs.asset_checks or [])],
        resources=merged,
        selection=selection,
        run_config=run_config,
        instance=instance,
        tags=range_tags(keys[0], keys[-1]),
        raise_on_error=raise_on_error,
    )
