"""Accounts on two Celery workers against the single-process run, in one run with interleaved
repeats, and the per-account figures docs/scaleout.md sizes 10,000 accounts from.

    .venv/bin/python bench/scaleout.py              # 20 small accounts, 1 repeat, ~12 min here
    .venv/bin/python bench/scaleout.py --repeats 2 --projects 8 --tasks 40

Needs what tests/deploy/test_scaleout.py needs: PostgreSQL (BUILDOS_TEST_POSTGRES_URL, default
the machine's `test` database, where it creates and drops a database of its own), RabbitMQ
(a virtual host of its own, made with rabbitmqctl) and Redis (Celery's result backend).

One sandbox server (its own process) serves both systems the same accounts:
- single process: `pipeline.runner.materialize` of the account steps (sync, models with their
  checks, each account's release) and the publish steps, in one run over every account, on a
  SQLite Dagster instance;
- distributed: the Definitions' accounts_refresh job on the Celery executor, one run per batch
  of accounts (all submitted at once, as the hourly schedule does), steps on 2 workers started
  by deploy/worker, the instance in PostgreSQL (deploy/dagster.yaml), then the publish job.
Each repeat runs a full cycle (new data folder: every account synced in full) and then a
no-change cycle (the sandbox's clock stands still) on each system, the order alternating.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

import dagster as dg  # noqa: E402

from pipeline.automation import SHARED_WRITER_TAG  # noqa: E402
from pipeline.partitions import batches  # noqa: E402
from tests import cluster  # noqa: E402
from tests.services import free_port, postgres_database  # noqa: E402

MODES = ("celery", "single")  # the order of repeat 0; repeat 1 reverses it


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--projects", type=int, default=2, help="projects per account")
    parser.add_argument("--tasks", type=int, default=6, help="mean tasks per project")
    parser.add_argument("--per-run", type=int, default=5, help="accounts per distributed run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    results: dict[str, list[dict]] = {mode: [] for mode in MODES}
    try:
        with ExitStack() as stack:
            sandbox = stack.enter_context(
                cluster.sandbox_server(
                    scratch,
                    accounts=args.accounts,
                    projects=args.projects,
                    tasks=args.tasks,
                    seed=args.seed,
                    port=free_port(),
                )
            )
            print(
                f"sandbox {sandbox.base_url}: {len(sandbox.accounts)} accounts x "
                f"{args.projects} projects x ~{args.tasks} tasks",
                flush=True,
            )
            distributed = stack.enter_context(
                distributed_deployment(scratch, sandbox, args.per_run, args.workers)
            )
            for repeat in range(args.repeats):
                order = MODES if repeat % 2 == 0 else tuple(reversed(MODES))
                for mode in order:
                    folder = scratch / f"{mode}-{repeat}"
                    if mode == "single":
                        figures = single_process(folder, sandbox)
                    else:
                        figures = distributed.cycle_pair(folder)
                    figures["repeat"] = repeat
                    results[mode].append(figures)
                    print(f"  repeat {repeat} {mode}: " + _short(figures), flush=True)
                single = results["single"][-1]["db"]
                celery = results["celery"][-1]["db"]
                difference = cluster.marts_difference(celery, single)
                results["celery"][-1]["equal"] = not difference
                if difference:
                    print(f"  MARTS DIFFER (table: celery-only, single-only rows): {difference}")
        report(results, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the single-process run ----------------------------------------------------------------------


def single_process(folder: Path, sandbox: cluster.Sandbox) -> dict:
    """A full cycle and then a no-change cycle with pipeline.runner.materialize, each one run
    over every account, on a SQLite instance of its own."""
    from pipeline.definitions import ACCOUNT_STEPS, PUBLISH_STEPS, defs
    from pipeline.resources import BuildOSResource, DuckDBWarehouse, PublishSettings
    from pipeline.runner import materialize

    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)  # runner.materialize's persistent instance
    db = folder / "data" / "warehouse.duckdb"
    keys = [k.path for k in (ACCOUNT_STEPS | PUBLISH_STEPS).resolve(defs.resolve_asset_graph())]
    resources = {
        "buildos": BuildOSResource(
            base_url=sandbox.base_url, accounts_json=sandbox.registry_json()
        ),
        "warehouse": DuckDBWarehouse(path=str(db)),
        "publish": PublishSettings(exports_dir=str(folder / "exports")),
    }
    figures = {"db": db}
    for cycle in ("full", "nochange"):
        sandbox.reset_stats()
        started = time.perf_counter()
        result = materialize(keys, resources)
        figures[f"{cycle}_seconds"] = time.perf_counter() - started
        if not result.success:
            raise RuntimeError(f"the single-process {cycle} cycle failed")
        figures[f"{cycle}_requests"] = sandbox.stats().get("total", 0)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            logs = instance.all_logs(result.run_id)
            figures[f"{cycle}_event_rows"] = len(logs)
            figures[f"{cycle}_steps"] = step_seconds(logs)
    figures |= account_figures(db)
    return figures


def step_seconds(logs) -> dict[str, float]:
    """step key -> seconds from its start to its success, from a run's event log."""
    started, took = {}, {}
    for entry in logs:
        event = entry.dagster_event
        if event is None or entry.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[entry.step_key] = entry.timestamp
        elif event.event_type_value == "STEP_SUCCESS" and entry.step_key in started:
            took[entry.step_key] = entry.timestamp - started[entry.step_key]
    return took


def account_figures(db: Path) -> dict:
    """Per account, from its work file: requests and seconds of its first (full) and second
    (no-change) sync, and the size of its folder (work file and releases)."""
    from tests.accounts import account_files

    full, nochange, sizes = [], [], []
    for path in account_files(db).values():
        runs = cluster.sync_runs(path)
        full.append(runs[0])
        if len(runs) > 1:
            nochange.append(runs[1])
        sizes.append(sum(f.stat().st_size for f in path.parent.rglob("*") if f.is_file()))
    return {
        "full_sync_requests": statistics.median(r[5] for r in full),
        "full_sync_seconds": statistics.median(r[6] for r in full),
        "nochange_sync_requests": statistics.median(r[5] for r in nochange),
        "nochange_sync_seconds": statistics.median(r[6] for r in nochange),
        "account_bytes": statistics.median(sizes),
        "shared_bytes": db.stat().st_size,
    }


# -- the distributed run -------------------------------------------------------------------------


class Distributed:
    """The workers, the PostgreSQL instance and the environment they share, for the whole
    bench; each cycle pair starts from an empty data folder at the same path (the workers read
    the path from their environment)."""

    def __init__(self, instance, workers, data: Path, per_run: int, sandbox, folder: Path):
        self.instance, self.workers, self.data, self.folder = instance, workers, data, folder
        self.per_run, self.sandbox = per_run, sandbox

    def cycle(self) -> dict:
        """Every account's batch at once, then publish: seconds, requests, event rows."""
        keys = self.instance.get_dynamic_partitions("accounts")
        self.sandbox.reset_stats()
        started = time.perf_counter()
        runs = [
            cluster.Background(self.folder, "accounts_refresh", first, last).start()
            for first, last in batches(keys, self.per_run)
        ]
        for run in runs:
            run.join()
            if run.error is not None:
                raise RuntimeError(run.error)
        accounts_seconds = time.perf_counter() - started
        published = cluster.execute(self.instance, cluster.publish, {SHARED_WRITER_TAG: "shared"})
        seconds = time.perf_counter() - started
        run_ids = [r.run_id for r in runs]
        steps: dict[str, float] = {}
        for run_id in run_ids:
            for step, took in step_seconds(self.instance.all_logs(run_id)).items():
                steps[step] = steps.get(step, 0.0) + took
        for run_id in [*run_ids, published]:
            status = cluster.run_status(self.instance, run_id)
            if status != dg.DagsterRunStatus.SUCCESS:
                raise RuntimeError(f"run {run_id} ended {status}")
        return {
            "seconds": seconds,
            "accounts_seconds": accounts_seconds,
            "requests": self.sandbox.stats().get("total", 0),
            "event_rows": cluster.event_rows(self.instance, run_ids),
            "publish_event_rows": cluster.event_rows(self.instance, [published]),
            "lock_errors": len(cluster.lock_errors(self.instance, [*run_ids, published])),
            "steps": steps,  # step key -> seconds summed over the batch runs
        }

    def cycle_pair(self, folder: Path) -> dict:
        shutil.rmtree(self.data, ignore_errors=True)
        figures = {}
        for name in ("full", "nochange"):
            for key, value in self.cycle().items():
                figures[f"{name}_{key}"] = value
        keep = folder / "data"
        shutil.copytree(self.data, keep)  # compared after the other system's cycle
        figures["db"] = keep / "warehouse.duckdb"
        figures |= account_figures(keep / "warehouse.duckdb")
        return figures


@contextmanager
def distributed_deployment(
    scratch: Path, sandbox: cluster.Sandbox, per_run: int, workers: int
) -> Iterator[Distributed]:
    """A PostgreSQL database and a RabbitMQ virtual host of the bench's own, `workers`
    workers on them, and the instance, with the environment both sides share."""
    from pipeline.runner import register_accounts

    home = cluster.dagster_home(scratch / "celery_home")
    data = scratch / "celery_data"
    with postgres_database() as pg_url, cluster.rabbitmq_vhost() as broker_url:
        env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": pg_url,
            "DAGSTER_CELERY_BROKER_URL": broker_url,
            "DAGSTER_CELERY_BACKEND_URL": cluster.BACKEND_URL,
            "BUILDOS_EXECUTOR": "celery",
            "BUILDOS_BASE_URL": sandbox.base_url,
            "BUILDOS_ACCOUNTS": sandbox.registry_json(),
            "BUILDOS_ACCOUNTS_PER_RUN": str(per_run),
            "BUILDOS_ANALYTICS_DB": str(data / "warehouse.duckdb"),
            "BUILDOS_ANALYTICS_EXPORTS": str(scratch / "celery_exports"),
            "BUILDOS_DASHBOARD_DIR": str(scratch / "celery_dashboards"),
            "BUILDOS_LEASE_URL": pg_url,
        }
        # Runs are submitted from this process, so it reads the same settings; the
        # single-process run names its resources explicitly and does not see them.
        os.environ.update(env)
        started = time.perf_counter()
        names = [f"bench-{i}-{cluster.SUFFIX}" for i in range(1, workers + 1)]
        running = cluster.start_workers(cluster.worker_env(env), scratch, names)
        print(f"{workers} workers ready in {time.perf_counter() - started:.1f} s", flush=True)
        try:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                register_accounts(instance, [a["account_id"] for a in sandbox.accounts])
                yield Distributed(instance, running, data, per_run, sandbox, scratch)
        finally:
            for worker in running:
                worker.stop()


# -- the report ------------------------------------------------------------------------------------


def _short(figures: dict) -> str:
    return (
        f"full {figures['full_seconds']:.1f} s ({figures['full_requests']} requests), "
        f"no-change {figures['nochange_seconds']:.1f} s ({figures['nochange_requests']} requests)"
    )


def _median(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def report(results: dict[str, list[dict]], args) -> None:
    single, celery = results["single"], results["celery"]
    n = args.accounts
    print()
    print(
        f"{n} accounts x {args.projects} projects x ~{args.tasks} tasks; {args.workers} workers, "
        f"{args.per_run} accounts per run; {args.repeats} repeat(s), medians"
    )
    print(f"{'cycle':<12}{'single process':>16}{'2 workers':>12}{'celery/single':>15}")
    for cycle in ("full", "nochange"):
        a, b = _median(single, f"{cycle}_seconds"), _median(celery, f"{cycle}_seconds")
        print(f"{cycle:<12}{a:>14.1f} s{b:>10.1f} s{b / a:>15.2f}")
    print()
    for cycle in ("full", "nochange"):
        runs = -(-n // args.per_run)
        print(
            f"event-log rows per partition, {cycle}: single process "
            f"{_median(single, f'{cycle}_event_rows') / n:.1f} (one run); celery "
            f"{_median(celery, f'{cycle}_event_rows') / n:.1f} ({runs} runs of {args.per_run}) "
            f"+ publish run {_median(celery, f'{cycle}_publish_event_rows'):.0f} rows"
        )
    print(
        "celery marts equal the single process's (EXCEPT ALL both ways): "
        + ", ".join("yes" if r.get("equal") else "NO" for r in celery)
    )
    print(
        "DuckDB lock errors in the celery runs' event logs: "
        f"{sum(r['full_lock_errors'] + r['nochange_lock_errors'] for r in celery)}"
    )
    print()
    print("per account (medians; the sizing in docs/scaleout.md uses these):")
    last = single[-1]
    for label, key in [
        ("full sync requests", "full_sync_requests"),
        ("full sync seconds (in its sync)", "full_sync_seconds"),
        ("no-change sync requests", "nochange_sync_requests"),
        ("no-change sync seconds", "nochange_sync_seconds"),
    ]:
        print(f"  {label:<58}{_median(single, key):>10.2f}")
    for cycle in ("full", "nochange"):
        steps = last[f"{cycle}_steps"]
        for step in ("buildos_sync", "account_models", "accounts__release"):
            if step in steps:
                took = statistics.median(r[f"{cycle}_steps"][step] for r in single) / n
                print(f"  {f'{cycle} {step} step seconds':<58}{took:>10.2f}")
    for cycle in ("full", "nochange"):
        for step in ("buildos_sync", "account_models", "accounts__release"):
            if step in celery[-1][f"{cycle}_steps"]:
                took = statistics.median(r[f"{cycle}_steps"][step] for r in celery) / n
                print(f"  {f'{cycle} {step} worker-slot seconds (celery)':<58}{took:>10.2f}")
    print(f"  {'account folder bytes':<58}{_median(single, 'account_bytes'):>10,.0f}")
    print(f"  {'shared file bytes (all accounts)':<58}{_median(single, 'shared_bytes'):>10,.0f}")
    for cycle in ("full", "nochange"):
        print(
            f"  requests to the sandbox, {cycle} cycle: single process "
            f"{_median(single, f'{cycle}_requests'):.0f}, celery "
            f"{_median(celery, f'{cycle}_requests'):.0f}"
        )


if __name__ == "__main__":
    main()
