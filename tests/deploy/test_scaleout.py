"""Accounts on two Celery workers for real: a sandbox server with 6 accounts in a process of its
own, an instance from deploy/dagster.yaml on a fresh PostgreSQL database, two workers started
by deploy/worker on a RabbitMQ virtual host of the test's own, the accounts_refresh job run in
batches of 3 accounts, then the publish job. Measured against the same sandbox run in one
process (pipeline.runner.materialize): the same shared marts row for row, no DuckDB lock
conflict, a worker SIGKILLed mid-sync that costs nothing once the batch is rerun, one writer
per account when two runs ask for the same accounts at once, and the fleet-wide request
ceiling held across both workers."""

from __future__ import annotations

import itertools
import time

import dagster as dg
import httpx
import orjson
import psycopg
import pytest

from pipeline.automation import SHARED_WRITER_TAG
from pipeline.definitions import ACCOUNT_STEPS, defs
from pipeline.lake import LakeSettings, current_snapshot
from pipeline.lake.s3local import local_s3
from pipeline.partitions import batches, range_tags
from pipeline.resources import BuildOSResource, DuckDBWarehouse, PublishSettings
from pipeline.runner import materialize, register_accounts
from pipeline.warehouse import connect
from tests import cluster
from tests.accounts import account_files
from tests.services import (
    REDIS_URL,
    free_port,
    libpq_url,
    require_postgres,
    require_rabbitmq,
    require_redis,
)
from tests.services import (
    postgres_database as fresh_database,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    # dagster-celery registers its task again for each step it sends; harmless, and not ours
    pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning"),
]

ACCOUNTS, PER_RUN = 6, 3
# Small accounts: the test is about where steps run, not about volume.
SIMULATION = {"accounts": ACCOUNTS, "projects": 2, "tasks": 6, "seed": 11}
# The fleet's ceiling, low enough that two workers syncing at once would pass it unchecked.
FLEET_RATE, FLEET_BURST = 12.0, 4
SHARED = dg.AssetSelection.groups("shared")  # the fan-in, what (a) compares
KILL_AFTER_REQUESTS = 10
RUN_DEADLINE = 600.0  # seconds a run of this test may take on a loaded machine
LAKE_BUCKET = "scaleout-lake"
# moto takes any credentials; the secret is one no event or log may show
LAKE_KEY_ID, LAKE_SECRET = "scaleout", "lake-secret-5c1e"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    require_postgres()
    require_rabbitmq()
    require_redis()
    folder = tmp_path_factory.mktemp("sandbox")
    with cluster.sandbox_server(folder, port=free_port(), **SIMULATION) as server:
        yield server


@pytest.fixture(scope="module")
def single_process(sandbox, tmp_path_factory):
    """The same sync, models, releases and fan-in in one process: the shared file it made."""
    folder = tmp_path_factory.mktemp("single")
    db = folder / "data" / "warehouse.duckdb"
    graph = defs.resolve_asset_graph()
    keys = [k.path for k in (ACCOUNT_STEPS | SHARED).resolve(graph)]
    buildos = BuildOSResource(base_url=sandbox.base_url, accounts_json=sandbox.registry_json())
    resources = {
        "buildos": buildos,
        "warehouse": DuckDBWarehouse(path=str(db)),
        "publish": PublishSettings(exports_dir=str(folder / "exports")),
    }
    result = materialize(keys, resources)
    assert result.success
    return db


@pytest.fixture(scope="module")
def deployment(sandbox, single_process, tmp_path_factory):
    """Two workers and the instance, with the environment both sides share; yields
    (instance, workers, data folder, environment). After the single-process run, which must
    not see this environment."""
    folder = tmp_path_factory.mktemp("distributed")
    home = cluster.dagster_home(folder / "dagster_home")
    data = folder / "data"
    with (
        fresh_database() as pg_url,
        fresh_database() as lake_url,
        local_s3(LAKE_BUCKET) as s3_endpoint,
        cluster.rabbitmq_vhost() as broker_url,
        pytest.MonkeyPatch.context() as patch,
    ):
        env = {
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": pg_url,
            "DAGSTER_CELERY_BROKER_URL": broker_url,
            "DAGSTER_CELERY_BACKEND_URL": cluster.BACKEND_URL,
            "BUILDOS_EXECUTOR": "celery",
            "BUILDOS_BASE_URL": sandbox.base_url,
            "BUILDOS_ACCOUNTS": sandbox.registry_json(),
            "BUILDOS_ACCOUNTS_PER_RUN": str(PER_RUN),
            "BUILDOS_ANALYTICS_DB": str(data / "warehouse.duckdb"),
            "BUILDOS_ANALYTICS_EXPORTS": str(folder / "exports"),
            "BUILDOS_DASHBOARD_DIR": str(folder / "dashboards"),
            # the accounts' leases in the instance's database: every worker sees them
            "BUILDOS_LEASE_URL": pg_url,
            "BUILDOS_FLEET_REDIS_URL": REDIS_URL,
            "BUILDOS_FLEET_REQUESTS_PER_SECOND": str(FLEET_RATE),
            "BUILDOS_FLEET_BURST": str(FLEET_BURST),
            # the lake as deployed: catalog in PostgreSQL, data files on S3
            "BUILDOS_LAKE_CATALOG": libpq_url(lake_url),
            "BUILDOS_LAKE_DATA": f"s3://{LAKE_BUCKET}/lake/",
            "BUILDOS_LAKE_S3_ENDPOINT": s3_endpoint,
            "BUILDOS_LAKE_S3_KEY_ID": LAKE_KEY_ID,
            "BUILDOS_LAKE_S3_SECRET": LAKE_SECRET,
        }
        # the runs are submitted from here, so this process reads the same settings
        for name, value in env.items():
            patch.setenv(name, value)
        workers = cluster.start_workers(
            cluster.worker_env(env), folder, [f"scaleout-{i}-{cluster.SUFFIX}" for i in (1, 2)]
        )
        try:
            with dg.DagsterInstance.from_config(str(home)) as instance:
                yield instance, workers, data, env
        finally:
            for worker in workers:
                worker.stop()


@pytest.fixture(scope="module")
def first_cycle(deployment, sandbox, tmp_path_factory):
    """Every account, in batches of 3 running at once, then publish: (account run ids,
    publish run id, seconds from the first sync's start to the last one's end, the sandbox's
    request counts meanwhile)."""
    instance, _workers, data, _env = deployment
    folder = tmp_path_factory.mktemp("runs")
    keys = register_accounts(instance, [a["account_id"] for a in sandbox.accounts])
    sandbox.reset_stats()
    runs = [
        cluster.Background(folder, "accounts_refresh", first, last).start()
        for first, last in batches(keys, PER_RUN)
    ]
    for run in runs:
        run.join(RUN_DEADLINE)
    stats = sandbox.stats()
    for run in runs:
        assert run.error is None, run.error
    # From the first account's sync starting to the last one's end: every request fell in there.
    syncs = [
        row
        for path in account_files(data / "warehouse.duckdb").values()
        for row in cluster.sync_runs(path)
    ]
    window = (max(r[4] for r in syncs) - min(r[3] for r in syncs)).total_seconds()
    published = cluster.execute(instance, cluster.publish, {SHARED_WRITER_TAG: "shared"})
    return [r.run_id for r in runs], published, window, stats


def test_every_run_succeeded_with_its_steps_on_the_workers(deployment, first_cycle):
    instance, workers, _, _ = deployment
    account_runs, published, _, _ = first_cycle
    assert len(account_runs) == ACCOUNTS // PER_RUN
    for run_id in [*account_runs, published]:
        assert cluster.run_status(instance, run_id) == dg.DagsterRunStatus.SUCCESS
    names = {w.node_name for w in workers}
    for run_id in account_runs:
        taken = cluster.step_workers(instance, run_id)
        assert set(taken) == {"buildos_sync", "account_models", "accounts__release"}
        assert set(taken.values()) <= names


def test_the_shared_marts_equal_the_single_process_run(deployment, first_cycle, single_process):
    _, _, data, _ = deployment
    shared = data / "warehouse.duckdb"
    assert cluster.mart_rows(shared) > 0
    assert cluster.marts_difference(shared, single_process) == {}
    assert len(account_files(shared)) == ACCOUNTS


def test_the_lake_marts_equal_the_single_process_run(deployment, first_cycle, single_process):
    """The fan-in ran on a worker and committed to the lake as deployed: its catalog in
    PostgreSQL, its data files on the S3-compatible server."""
    instance, _, data, env = deployment
    settings = LakeSettings.from_env(env)
    assert settings.on_postgres and settings.on_s3
    assert cluster.lake_marts_difference(settings, single_process) == {}
    # one snapshot holds every account, from the syncs the shared file holds
    snapshot = current_snapshot(settings)
    with connect(data / "warehouse.duckdb", read_only=True) as con:
        shared = dict(
            con.execute("select account_id, sync_id from meta.account_releases").fetchall()
        )
    assert snapshot.sync_ids() == {account: (sync,) for account, sync in shared.items()}
    assert len(shared) == ACCOUNTS
    # and the exports BI tools read name that snapshot
    manifest = orjson.loads((data.parent / "exports" / "current" / "manifest.json").read_bytes())
    assert manifest["lake_snapshot"] == snapshot.snapshot_id
    # where it lives: the snapshots in the catalog database, the Parquet on the S3 server
    with psycopg.connect(settings.catalog) as catalog:
        [(snapshots,)] = catalog.execute("select count(*) from ducklake_snapshot").fetchall()
        [(files,)] = catalog.execute(
            "select count(*) from ducklake_data_file where end_snapshot is null"
        ).fetchall()
    assert snapshots >= 2  # the first (empty) one, the fan-in's
    listing = httpx.get(
        f"{settings.s3_endpoint}/{LAKE_BUCKET}", params={"list-type": "2", "prefix": "lake/"}
    )
    listing.raise_for_status()
    assert 0 < files <= listing.text.count(".parquet</Key>")
    # the S3 secret reached the workers through the environment, and nothing they logged
    published = first_cycle[1]
    events = [repr(entry) for entry in instance.all_logs(published)]
    assert not [e for e in events if LAKE_SECRET in e]
    assert LAKE_SECRET not in cluster.worker_logs(deployment[1])


def test_no_step_met_a_duckdb_lock(deployment, first_cycle):
    instance, workers, _, _ = deployment
    account_runs, published, _, _ = first_cycle
    assert cluster.lock_errors(instance, [*account_runs, published]) == []
    assert cluster.LOCK_ERROR not in cluster.worker_logs(workers)


def test_the_fleet_request_ceiling_held_across_both_workers(first_cycle):
    _, _, window, stats = first_cycle
    # Both batches synced at once on two workers; however fast or slow the machine, the
    # sandbox cannot have been asked more than the bucket's burst plus its rate over the time
    # the syncs took.
    assert stats["total"] > 0
    assert stats["total"] <= FLEET_BURST + FLEET_RATE * window, (stats["total"], window)


def test_two_requests_for_the_same_accounts_never_sync_one_at_the_same_time(
    deployment, first_cycle, sandbox, tmp_path
):
    instance, workers, data, _ = deployment
    keys = instance.get_dynamic_partitions("accounts")
    batch = keys[:PER_RUN]
    files = account_files(data / "warehouse.duckdb")
    before = {account_id: len(cluster.sync_runs(path)) for account_id, path in files.items()}
    runs = [
        cluster.Background(tmp_path, "accounts_refresh", batch[0], batch[-1]).start()
        for _ in range(2)
    ]
    try:
        for run in runs:
            run.join(RUN_DEADLINE)
            assert run.error is None, run.error
    finally:
        for run in runs:
            run.stop()
    busy = cluster.lease_busy(instance, [r.run_id for r in runs])
    for account_id in batch:
        rows = cluster.sync_runs(files[account_id])
        new = [r for r in rows[before[account_id] :] if r[4] is not None]
        # Both runs synced the account, one after the other (the second waited for the
        # lease), or the second gave up waiting and said so: never two syncs at once. (A run
        # once left no row and no LeaseBusy: the first run's sync step counted rows after
        # giving its leases back, so the second run's sync could not open the file. The
        # count is now taken under the leases.)
        said = cluster.account_messages(instance, [r.run_id for r in runs], account_id)
        assert len(new) == 2 or (len(new) == 1 and account_id in busy), (rows, said)
        spans = sorted((r[3], r[4]) for r in new)
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans
    assert cluster.lock_errors(instance, [r.run_id for r in runs]) == []
    assert cluster.LOCK_ERROR not in cluster.worker_logs(workers)


def test_a_worker_killed_mid_sync_costs_nothing_once_the_batch_is_rerun(
    deployment, first_cycle, sandbox, single_process, tmp_path
):
    instance, workers, data, env = deployment
    keys = instance.get_dynamic_partitions("accounts")
    first, last = keys[-PER_RUN], keys[-1]
    # A full reconciliation, so the sync is long enough to be caught in the middle.
    sandbox.reset_stats()
    run = cluster.Background(tmp_path, "full_reconciliation", first, last).start()
    deadline = time.monotonic() + RUN_DEADLINE
    taken = None
    while taken is None and run.is_alive() and time.monotonic() < deadline:
        started = instance.get_runs(dg.RunsFilter(job_name="full_reconciliation"))
        # caught mid-sync: a worker took the step and has asked BuildOS a few times (a full
        # reconciliation of these accounts asks over a hundred times, at most 12 a second)
        if started and sandbox.stats().get("total", 0) >= KILL_AFTER_REQUESTS:
            taken = cluster.step_workers(instance, started[0].run_id).get("buildos_sync")
        time.sleep(0.2)
    try:
        assert taken is not None, f"the sync was not caught running: {run.log_path}"
        [victim] = [w for w in workers if w.node_name == taken]
        # killed before its sync ended
        assert "buildos_sync" not in cluster.finished_steps(instance, started[0].run_id)
        victim.kill()
        run.join(RUN_DEADLINE)
        assert not run.is_alive(), "the run never ended after its worker was killed"
    finally:
        run.stop()
    # Whatever became of that run, the batch run again and a publish give the same marts.
    rerun = cluster.execute(instance, cluster.accounts_refresh, range_tags(first, last))
    published = cluster.execute(instance, cluster.publish, {SHARED_WRITER_TAG: "shared"})
    for run_id in (rerun, published):
        assert cluster.run_status(instance, run_id) == dg.DagsterRunStatus.SUCCESS
    assert cluster.marts_difference(data / "warehouse.duckdb", single_process) == {}
    assert cluster.lake_marts_difference(LakeSettings.from_env(env), single_process) == {}
    assert cluster.lock_errors(instance, [rerun, published]) == []
