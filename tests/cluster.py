"""The distributed deployment on this machine, for the scale-out test and bench/scaleout.py: the
sandbox served from a process of its own, a RabbitMQ virtual host and a PostgreSQL database of
the caller's own, Celery workers started by deploy/worker, and the Definitions' jobs on the
Celery executor. Also what both compare: the shared marts of two runs, row for row."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import httpx
import orjson
import yaml

from pipeline.models import load_models
from pipeline.paths import PROJECT_ROOT
from pipeline.warehouse import connect

DEPLOY = PROJECT_ROOT / "deploy"
# When the pipeline ran, not what the data says: the only columns that differ by run.
RUN_TIME_COLUMNS = {"first_synced_at", "last_synced_at"}
LOCK_ERROR = "Could not set lock"
# What deploy/worker prints once it takes steps, and how long the machine may take to get there.
WORKER_READY = b" ready."
WORKER_START_SECONDS = 180.0
BACKEND_URL = os.environ.get("BUILDOS_TEST_CELERY_BACKEND_URL", "redis://127.0.0.1:6379/1")
# Names this process's workers apart from any other's on the machine.
SUFFIX = uuid.uuid4().hex[:8]


# -- the sandbox, in a process of its own (so no worker shares its GIL) ------------------------


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    accounts: list[dict]  # account_id, email, password, api_key, name

    def registry_json(self) -> str:
        """BUILDOS_ACCOUNTS for these accounts: id, email and password each."""
        return orjson.dumps(
            [{k: a[k] for k in ("account_id", "email", "password")} for a in self.accounts]
        ).decode()

    def stats(self) -> dict[str, int]:
        return _data(httpx.get(f"{self.base_url}/__sandbox/stats", timeout=30))

    def reset_stats(self) -> None:
        httpx.post(f"{self.base_url}/__sandbox/stats/reset", timeout=30).raise_for_status()


def _data(response: httpx.Response):
    response.raise_for_status()
    body = response.json()
    return body.get("data", body)


@contextmanager
def sandbox_server(
    folder: Path, *, accounts: int, projects: int, tasks: int, seed: int, port: int
) -> Iterator[Sandbox]:
    """`python -m pipeline sandbox serve` on 127.0.0.1:port until the block ends."""
    log_path = folder / "sandbox.log"
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "sandbox",
        "serve",
        "--port",
        str(port),
        "--seed",
        str(seed),
        "--accounts",
        str(accounts),
        "--projects",
        str(projects),
        "--tasks",
        str(tasks),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=_python_env()
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError("the sandbox exited:\n" + log_path.read_text()[-2000:])
            try:
                listed = _data(httpx.get(f"{base_url}/__sandbox/accounts", timeout=5))
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the sandbox did not answer within 120 s") from None
                time.sleep(0.3)
        yield Sandbox(base_url, listed["accounts"])
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _python_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), **extra}


# -- the broker and the instance of the caller's own ---------------------------------------------


@contextmanager
def rabbitmq_vhost(host: str = "127.0.0.1:5672") -> Iterator[str]:
    """A RabbitMQ virtual host of the caller's own (rabbitmqctl), so workers of another test
    or person on the same broker never take these steps from the api and cpu queues; yields
    its AMQP URL and deletes the virtual host afterwards."""
    ctl = shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl"
    name = f"buildos-{uuid.uuid4().hex[:10]}"
    subprocess.run([ctl, "-q", "add_vhost", name], check=True, capture_output=True, timeout=120)
    try:
        subprocess.run(
            [ctl, "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield f"amqp://guest:guest@{host}/{name}"
    finally:
        subprocess.run([ctl, "-q", "delete_vhost", name], capture_output=True, timeout=120)


def dagster_home(folder: Path) -> Path:
    """A DAGSTER_HOME holding deploy/dagster.yaml (the PostgreSQL instance)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEPLOY / "dagster.yaml", folder / "dagster.yaml")
    return folder


# -- workers ---------------------------------------------------------------------------------------


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log_path: Path

    @property
    def node_name(self) -> str:
        """How Celery (and so Dagster's event log) names this worker."""
        return f"{self.name}@{os.uname().nodename}"

    def kill(self) -> None:
        """SIGKILL the whole worker: deploy/worker's dagster-celery, celery and its forks."""
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """Warm shutdown of the worker's process group; killed past 30 s."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                self.process.poll()  # reaps deploy/worker: a zombie would still count as alive
                try:
                    os.killpg(self.process.pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.5)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        finally:
            self.process.wait(30)


def worker_env(settings: dict[str, str]) -> dict[str, str]:
    """The environment a worker starts with: this process's, with `settings` over it."""
    return _python_env(**settings)


def start_workers(env: dict[str, str], folder: Path, names: Sequence[str]) -> list[Worker]:
    """deploy/worker on queues api and cpu, one per name, each in a session of its own (celery
    forks its pool); returns once every one says it is ready."""
    workers = []
    for name in names:
        log_path = folder / f"worker-{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [str(DEPLOY / "worker"), "api,cpu", "--name", name],
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        workers.append(Worker(name, process, log_path))
    deadline = time.monotonic() + WORKER_START_SECONDS
    for worker in workers:
        while WORKER_READY not in worker.log_path.read_bytes():
            if worker.process.poll() is not None or time.monotonic() > deadline:
                for w in workers:
                    w.stop()
                raise RuntimeError(
                    f"worker {worker.name} did not start:\n" + worker.log_path.read_text()[-3000:]
                )
            time.sleep(0.5)
    return workers


def worker_logs(workers: Sequence[Worker]) -> str:
    return "\n".join(w.log_path.read_text(errors="replace") for w in workers)


# -- the Definitions' jobs on the Celery executor -------------------------------------------------


def _celery_job(name: str) -> dg.JobDefinition:
    """The Definitions' job `name` with the Celery executor and resources from the environment
    as it is now (the Definitions bind them when first imported, which in a test process is
    before the test sets them). The workers rebuild it the same way from their environment."""
    from dagster_celery import celery_executor

    from pipeline import definitions, resources

    defs = dg.Definitions(
        assets=definitions.defs.assets,
        asset_checks=definitions.defs.asset_checks,
        jobs=definitions.JOBS,
        resources={
            **definitions.resources,
            "buildos": resources.buildos_from_env(),
            "warehouse": resources.warehouse_from_env(),
            "models": resources.models_from_env(),
            "publish": resources.publish_from_env(),
            "deliver": resources.delivery_from_env(),
        },
        executor=celery_executor,
    )
    return defs.resolve_job_def(name)


def accounts_refresh() -> dg.JobDefinition:
    return _celery_job("accounts_refresh")


def full_reconciliation() -> dg.JobDefinition:
    return _celery_job("full_reconciliation")


def publish() -> dg.JobDefinition:
    return _celery_job("publish")


def celery_run_config() -> dict:
    return yaml.safe_load((DEPLOY / "celery.yaml").read_text())


def execute(instance: dg.DagsterInstance, job_fn, tags: dict[str, str] | None = None) -> str:
    """One run of the job `job_fn` builds, its steps on the workers; returns the run id (the
    run's outcome is the instance's)."""
    with dg.execute_job(
        dg.reconstructable(job_fn), instance, celery_run_config(), tags=tags or {}
    ) as result:
        return result.run_id


JOBS = {
    "accounts_refresh": accounts_refresh,
    "full_reconciliation": full_reconciliation,
    "publish": publish,
}


class Background:
    """A run in a process of its own (`python -m tests.cluster JOB [FIRST LAST]`), for runs
    that overlap, as Dagster's run launchers start them: two runs in threads of one process
    deadlock in Dagster's logging set-up (logging.config.dictConfig against a handler's lock).
    The process reads this one's environment (DAGSTER_HOME and the BUILDOS_* settings)."""

    def __init__(self, folder: Path, job: str, first: str | None = None, last: str | None = None):
        self.log_path = folder / f"run-{job}-{uuid.uuid4().hex[:8]}.log"
        self.command = [sys.executable, "-m", "tests.cluster", job]
        if first is not None:
            self.command += [first, last or first]
        self.process: subprocess.Popen | None = None
        self.run_id: str | None = None
        self.error: str | None = None

    def start(self) -> Background:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.log_path.parent,
                env=_python_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def is_alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        """Ends the run's process if it is still going (a test that failed midway)."""
        if self.is_alive():
            self.process.kill()
            self.process.wait(30)

    def join(self, timeout: float | None = None) -> None:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.error = f"still running after {timeout:g} s: {self.log_path}"
            return
        text = self.log_path.read_text(errors="replace")
        found = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith("run_id=")]
        if found:
            self.run_id = found[-1]
        if self.process.returncode != 0 or not found:
            self.error = f"exited {self.process.returncode}:\n{text[-3000:]}"


def main(argv: Sequence[str] | None = None) -> None:
    from pipeline.automation import SHARED_WRITER_TAG
    from pipeline.partitions import range_tags

    args = list(sys.argv[1:] if argv is None else argv)
    job = args.pop(0)
    tags = range_tags(*args) if args else {}
    if job == "publish":
        tags[SHARED_WRITER_TAG] = "shared"
    with dg.DagsterInstance.get() as instance:
        print(f"run_id={execute(instance, JOBS[job], tags)}", flush=True)


def run_status(instance: dg.DagsterInstance, run_id: str) -> dg.DagsterRunStatus:
    return instance.get_run_by_id(run_id).status


def lock_errors(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> list[str]:
    """Every event of these runs that mentions a DuckDB lock conflict."""
    found = []
    for run_id in run_ids:
        for entry in instance.all_logs(run_id):
            text = entry.message or ""
            if entry.dagster_event is not None:
                text += " " + repr(entry.dagster_event.event_specific_data)
            if LOCK_ERROR in text:
                found.append(f"{run_id} {entry.step_key}: {text[:300]}")
    return found


def lease_busy(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> set[str]:
    """The accounts these runs' steps left out because another run held their lease."""
    from pipeline.partitions import ACCOUNTS

    keys = instance.get_dynamic_partitions(ACCOUNTS.name)
    named = set()
    for run_id in run_ids:
        for entry in instance.all_logs(run_id):
            if "LeaseBusy" in (entry.message or ""):
                named |= {key for key in keys if key in entry.message}
    return named


def account_messages(
    instance: dg.DagsterInstance, run_ids: Sequence[str], account_id: str
) -> list[str]:
    """Every log message of these runs that names the account (what a run said about it)."""
    return [
        f"{entry.step_key}: {entry.message}"
        for run_id in run_ids
        for entry in instance.all_logs(run_id)
        if account_id in (entry.message or "")
    ]


def finished_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    """The steps of a run that have succeeded so far."""
    return {
        entry.step_key
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_SUCCESS)
    }


def step_workers(instance: dg.DagsterInstance, run_id: str) -> dict[str, str]:
    """step key -> the Celery worker that took it (from the run's engine events)."""
    taken = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is not None and event.is_engine_event and "in celery worker" in entry.message:
            taken[event.step_key] = event.engine_event_data.metadata["Celery worker"].text
    return taken


def event_rows(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> int:
    return sum(len(instance.all_logs(run_id)) for run_id in run_ids)


# -- what the runs made ------------------------------------------------------------------------


def mart_names() -> list[str]:
    return [m.name for m in load_models() if m.layer == "marts"]


def marts_difference(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """table -> (rows of a not in b, rows of b not in a), EXCEPT ALL both ways over every
    column but the run-time ones, for each mart of the shared files `a` and `b`; {} when the
    two hold the same rows. A table whose columns differ counts as wholly different."""
    con = connect(a, read_only=True)
    try:
        catalog = con.execute("select current_database()").fetchone()[0]
        return _difference(con, catalog, b)
    finally:
        con.close()


def lake_marts_difference(settings, b: Path) -> dict[str, tuple[int, int]]:
    """marts_difference between the shared lake's newest snapshot (pipeline.lake settings)
    and the shared file `b`."""
    from pipeline import lake

    con = lake.connect(settings)
    try:
        return _difference(con, "lake", b)
    finally:
        con.close()


def _difference(con, catalog: str, b: Path) -> dict[str, tuple[int, int]]:
    con.execute(f"attach '{b}' as other (read_only)")
    differences = {}
    for table in mart_names():
        columns = _columns(con, catalog, table)
        if sorted(columns) != sorted(_columns(con, "other", table)) or not columns:
            differences[table] = (-1, -1)
            continue
        select = ", ".join(f'"{c}"' for c in columns)
        counts = []
        for x, y in ((catalog, "other"), ("other", catalog)):
            [(extra,)] = con.execute(
                f'select count(*) from (select {select} from "{x}".marts.{table} '
                f'except all select {select} from "{y}".marts.{table})'
            ).fetchall()
            counts.append(extra)
        if any(counts):
            differences[table] = (counts[0], counts[1])
    return differences


def mart_rows(path: Path) -> int:
    con = connect(path, read_only=True)
    try:
        return sum(
            con.execute(f"select count(*) from marts.{table}").fetchone()[0]
            for table in mart_names()
        )
    finally:
        con.close()


def _columns(con, catalog: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and "
            "schema_name = 'marts' and table_name = ? order by column_index",
            [catalog, table],
        ).fetchall()
        if name not in RUN_TIME_COLUMNS
    ]


def sync_runs(account_file: Path) -> list[tuple]:
    """(sync_id, mode, status, started_at, finished_at, requests, duration_seconds) of an
    account's work file, oldest first."""
    con = connect(account_file, read_only=True)
    try:
        return con.execute(
            "select sync_id, mode, status, started_at, finished_at, requests, duration_seconds "
            "from meta.sync_runs order by started_at"
        ).fetchall()
    finally:
        con.close()


if __name__ == "__main__":
    main()
