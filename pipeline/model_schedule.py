"""The order models are built in: every model after the models it reads, up to `WORKERS` side
by side, each on a cursor of its own (pipeline/model_build.py builds one model)."""

from __future__ import annotations

import queue
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import duckdb

from pipeline.model_build import (
    BuildResult,
    account_fingerprints,
    build,
    build_cursor,
    write_account_fingerprints,
)
from pipeline.models import Model, load_models, write_effort_weights, write_risk_tolerance

# Models built at once (each on a cursor of its own): with two, a small model fills the core
# a big one leaves idle; more only queue for the same two cores and memory.
WORKERS = 2


def build_all(
    con: duckdb.DuckDBPyConnection,
    weights: dict[str, float],
    full: bool = False,
    risk_tolerance: tuple[float, int] | None = None,
    workers: int = WORKERS,
) -> dict[str, BuildResult]:
    """Every model in dependency order, up to `workers` side by side (what the model assets
    do); `risk_tolerance` is ModelSettings' (share of scope, tasks), its defaults when None."""
    from pipeline import resources  # it imports this module

    write_effort_weights(con, weights)
    write_risk_tolerance(
        con,
        *(
            risk_tolerance
            or (resources.DEFAULT_RISK_BEHIND_SHARE_OF_SCOPE, resources.DEFAULT_RISK_BEHIND_TASKS)
        ),
    )
    models = load_models()
    write_account_fingerprints(con, account_fingerprints(con, models))
    return build_models(con, models, full=full, workers=workers)


def build_models(
    con: duckdb.DuckDBPyConnection,
    models: Sequence[Model],
    full: bool = False,
    built: Callable[[Model, BuildResult], None] | None = None,
    workers: int = WORKERS,
) -> dict[str, BuildResult]:
    """Build `models` (in dependency order), up to `workers` at once: a model starts when the
    models of `models` it reads are built, on a cursor of its own (DuckDB builds different
    tables of one database side by side, each in its own transaction). `built(model, result)`
    is called in this thread as each one is done, before anything that reads it starts, so a
    model's checks run while the next models build. When a build raises, nothing new starts,
    the running builds finish, and the first error is raised."""
    for schema in sorted({m.schema for m in models}):
        con.execute(f"create schema if not exists {schema}")  # not created by two at once
    relations = {m.relation for m in models}
    waits = {m.relation: {f"{s}.{t}" for s, t in m.refs if f"{s}.{t}" in relations} for m in models}
    # Of the models ready at once, the one with the longest chain of tables still to build
    # after it starts first: the graph marts' chain, left to the end, would run alone.
    chain: dict[str, int] = {}
    for model in reversed(models):
        below = [chain[m.relation] for m in models if model.relation in waits[m.relation]]
        chain[model.relation] = (model.materialization == "table") + max(below, default=0)
    cursors: queue.SimpleQueue[duckdb.DuckDBPyConnection] = queue.SimpleQueue()
    opened = [build_cursor(con) for _ in range(max(1, workers))]
    for cursor in opened:
        cursors.put(cursor)

    def run(model: Model) -> BuildResult:
        cursor = cursors.get()
        try:
            return build(cursor, model, full=full)
        finally:
            cursors.put(cursor)

    results: dict[str, BuildResult] = {}
    pending = list(models)
    running: dict[Future[BuildResult], Model] = {}
    errors: list[BaseException] = []
    try:
        with ThreadPoolExecutor(max_workers=len(opened)) as pool:
            while True:
                if not errors:
                    ready = [m for m in pending if waits[m.relation] <= results.keys()]
                    for model in sorted(ready, key=lambda m: -chain[m.relation]):
                        if len(running) == len(opened):
                            break
                        pending.remove(model)
                        running[pool.submit(run, model)] = model
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in sorted(finished, key=lambda f: models.index(running[f])):
                    model = running.pop(future)
                    try:
                        results[model.relation] = future.result()
                    except BaseException as error:  # raised below, once the running builds are done
                        errors.append(error)
                        continue
                    if built is not None:
                        built(model, results[model.relation])
    finally:
        for cursor in opened:
            cursor.close()
    if errors:
        raise errors[0]
    return {m.relation: results[m.relation] for m in models if m.relation in results}
