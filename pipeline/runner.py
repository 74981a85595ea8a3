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
from pipeline.paths import PROJECT_ROOT
from pipeline.resources import ProgressReporter

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


def materialize(
    asset_keys: Sequence[Sequence[str]] | None,
    resources: dict,
    run_config: dict | None = None,
    progress: ProgressReporter | None = None,
    raise_on_error: bool = True,
) -> dg.ExecuteInProcessResult:
    """Materialize the selected assets of the one Definitions, with resources overridden."""
    merged = {**defs.resources, **resources}
    if progress is not None:
        merged["progress"] = dg.ResourceDefinition.hardcoded_resource(progress)
    assets = [*defs.assets, *(defs.asset_checks or [])]
    # A multi-asset (the sync) runs whole: selecting one of its keys selects its siblings.
    selection = (
        dg.AssetSelection.assets(
            *[dg.AssetKey(list(k)) for k in asset_keys]
        ).required_multi_asset_neighbors()
        if asset_keys
        else None
    )
    config = {**QUIET_LOGS, **(run_config or {})}
    with persistent_instance() as instance:
        return dg.materialize(
            assets,
            resources=merged,
            run_config=config,
            selection=selection,
            raise_on_error=raise_on_error,
            instance=instance,
        )
