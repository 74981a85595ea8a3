"""Run the Definitions' assets from the command line: same assets, resources from options, and
the same persistent Dagster instance as `make ui`, so the UI shows what the CLI did."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pipeline.definitions import defs
from pipeline.partitions import ACCOUNTS, range_tags
from pipeline.paths import PROJECT_ROOT
from pipeline.resources import DuckDBWarehouse, ProgressReporter, UnresolvedAccount

QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The instance the CLI and `make ui` share: $DAGSTER_HOME, else dagster_home/ in the project
# (its dagster.yaml is versioned; the run history, logs and schedules' state beside it are not).
DEFAULT_DAGSTER_HOME = PROJECT_ROOT / "dagster_home"


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME)


@contextmanager
def persistent_instance() -> Iterator[dg.DagsterInstance]:
    home = dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()


class RichProgress(ProgressReporter):
    """A terminal progress bar per phase (rich)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description:<32}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def update(self, phase: str, done: int, total: int) -> None:
        if phase not in self._tasks:
            self._tasks[phase] = self._progress.add_task(phase, total=total)
        self._progress.update(self._tasks[phase], completed=done, total=total)

    def message(self, text: str) -> None:
        self._progress.console.print(text)


class NoAccounts(RuntimeError):
    """No account partition to run."""


class AccountsLeftOut(RuntimeError):
    """The run went on without configured entries whose id could not be learned (a failed
    login, an id that is not a UUID); `result` is the run of the others."""

    def __init__(self, result, unresolved: Sequence[UnresolvedAccount]):
        self.result, self.unresolved = result, list(unresolved)
        names = "\n".join(f"  {entry}" for entry in self.unresolved)
        super().__init__(f"these configured accounts were not synced:\n{names}")


def register_accounts(
    instance: dg.DagsterInstance, account_ids: Sequence[str], remove: bool = True
) -> list[str]:
    """Make the instance's account partitions the configured accounts (what the
    account_registry sensor does on a schedule), removing the others unless told not to;
    returns them in the partitions' order."""
    current = instance.get_dynamic_partitions(ACCOUNTS.name)
    for gone in [key for key in current if remove and key not in set(account_ids)]:
        instance.delete_dynamic_partition(ACCOUNTS.name, gone)
    missing = [key for key in account_ids if key not in set(current)]
    if missing:
        instance.add_dynamic_partitions(ACCOUNTS.name, missing)
    return instance.get_dynamic_partitions(ACCOUNTS.name)


def _partitioned(keys: list[dg.AssetKey] | None) -> tuple[bool, bool]:
    """(whether the selection has account assets, whether it has the sync)."""
    graph = defs.resolve_asset_graph()
    keys = keys if keys is not None else list(graph.get_all_asset_keys())
    partitioned = any(graph.get(key).partitions_def is not None for key in keys)
    return partitioned, any(graph.get(key).group_name == "buildos" for key in keys)


def _accounts_on_disk(warehouse) -> list[str]:
    from pipeline import safety
    from pipeline.resources import ACCOUNT_FILE

    if not isinstance(warehouse, DuckDBWarehouse):
        warehouse = warehouse.process_config_and_initialize()
    folder = warehouse.root / "accounts"
    found = []
    for path in sorted(folder.glob(f"*/{ACCOUNT_FILE}")):
        try:
            found.append(safety.account_id(path.parent.name))
        except safety.UnsafePathError:
            continue  # not an account's folder
    return found


def _without_account_steps(keys: list[dg.AssetKey]) -> list[dg.AssetKey]:
    graph = defs.resolve_asset_graph()
    return [
        key
        for key in keys
        if graph.get(key).partitions_def is None and graph.get(key).group_name != "shared"
    ]


def materialize(
    asset_keys: Sequence[Sequence[str]] | None,
    resources: dict,
    run_config: dict | None = None,
    progress: ProgressReporter | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialize the selected assets of the one Definitions, with resources overridden, in
    one run. Account assets run for every registered account (the run takes the whole range
    of account partitions); a selection with the sync first registers the configured ones.
    A configured entry whose id cannot be learned is left out, the others run, and then
    AccountsLeftOut names it (with the run's result); NoAccounts when no account is left."""
    merged = {**defs.resources, **resources}
    if progress is not None:
        merged["progress"] = dg.ResourceDefinition.hardcoded_resource(progress)
    assets = [*defs.assets, *(defs.asset_checks or [])]
    keys = [dg.AssetKey(list(k)) for k in asset_keys] if asset_keys else None
    # A multi-asset (the sync) runs whole: selecting one of its keys selects its siblings.
    selection = dg.AssetSelection.assets(*keys).required_multi_asset_neighbors() if keys else None
    config = {**QUIET_LOGS, **(run_config or {})}
    with persistent_instance() as instance:
        tags, unresolved = {}, []
        partitioned, syncs = _partitioned(keys)
        if partitioned:
            # A sync registers the configured accounts; later steps take the registered ones,
            # else the accounts whose files are beside the shared file.
            if syncs:
                resolved = merged["buildos"].process_config_and_initialize().resolve()
                unresolved = resolved.unresolved
                if unresolved and not resolved.ids:
                    raise NoAccounts(str(AccountsLeftOut(None, unresolved)))
                # An entry that did not resolve may be a registered account: keep them all.
                partitions = register_accounts(instance, resolved.ids, remove=not unresolved)
            else:
                partitions = instance.get_dynamic_partitions(ACCOUNTS.name) or register_accounts(
                    instance, _accounts_on_disk(merged["warehouse"])
                )
            if partitions:
                tags = range_tags(partitions[0], partitions[-1])
            elif keys is not None and not syncs:
                # No account at all: publish what the shared file holds. The fan-in is left
                # out too: with no account registered it would empty the shared file.
                keys = _without_account_steps(keys)
                if not keys:
                    raise NoAccounts("no BuildOS account is synced yet: run `pipeline sync`")
                selection = dg.AssetSelection.assets(*keys).required_multi_asset_neighbors()
                account_ops = {a.op.name for a in defs.assets if a.partitions_def is not None}
                if "ops" in config:
                    ops = {k: v for k, v in config["ops"].items() if k not in account_ops}
                    config = {**config, "ops": ops}
            else:
                raise NoAccounts("no BuildOS account is configured")
        result = dg.materialize(
            assets,
            resources=merged,
            run_config=config,
            selection=selection,
            raise_on_error=raise_on_error,
            instance=instance,
            tags=tags,
        )
    if unresolved:
        raise AccountsLeftOut(result, unresolved)
    return result
