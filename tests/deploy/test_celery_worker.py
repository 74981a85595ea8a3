"""deploy/ for real: a Celery worker started by deploy/worker on the local RabbitMQ, an
instance from deploy/dagster.yaml on a fresh PostgreSQL database, and a two-op job run with
the Celery executor whose both steps run in that worker's processes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import dagster as dg
import pytest
import yaml
from dagster_celery import celery_executor

from pipeline.paths import PROJECT_ROOT
from tests.services import (
    AMQP_URL,
    require_rabbitmq,
    require_redis,
)
from tests.services import (
    postgres_database as fresh_database,
)

DEPLOY = PROJECT_ROOT / "deploy"
# Queues of this test session's own, so a worker of another session on the same broker never
# takes these steps. The worker imports this module with the same environment, so it agrees.
SUFFIX = os.environ.setdefault("TEST_CELERY_QUEUE_SUFFIX", uuid.uuid4().hex[:8])
API, CPU = f"api-{SUFFIX}", f"cpu-{SUFFIX}"
BACKEND_URL = os.environ.get("BUILDOS_TEST_CELERY_BACKEND_URL", "redis://127.0.0.1:6379/1")


@dg.op(tags={"dagster-celery/queue": API})
def fetch_step() -> int:
    return os.getpid()


@dg.op(tags={"dagster-celery/queue": CPU})
def build_step(fetched_by: int) -> list[int]:
    return [fetched_by, os.getpid()]


@dg.job(executor_def=celery_executor)
def two_steps():
    build_step(fetch_step())


def start_worker(env: dict, log_path) -> subprocess.Popen:
    """deploy/worker in a session of its own (it starts celery, which forks its pool); returns
    once the worker says it is ready."""
    log = log_path.open("wb")
    worker = subprocess.Popen(
        [str(DEPLOY / "worker"), f"{API},{CPU}", "--name", f"test-{SUFFIX}"],
        env=env,
        cwd=log_path.parent,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while b" ready." not in log_path.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            pytest.fail("the Celery worker did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.5)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    """Warm shutdown of the worker's whole process group; killed past 30 s."""
    try:
        os.killpg(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            worker.poll()  # reaps deploy/worker itself: a zombie would still count as alive
            try:
                os.killpg(worker.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.5)
        os.killpg(worker.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    finally:
        worker.wait(30)


@pytest.mark.slow
@pytest.mark.postgres
# dagster-celery registers its task again for each step it sends; harmless, and not ours
@pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")
def test_a_run_on_the_celery_executor_runs_both_steps_on_the_worker(tmp_path, monkeypatch):
    require_rabbitmq()
    require_redis()
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    with fresh_database() as url:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": url,
            "DAGSTER_CELERY_BROKER_URL": AMQP_URL,
            "DAGSTER_CELERY_BACKEND_URL": BACKEND_URL,
        }
        # the run reads the same settings as the worker (dagster.yaml and celery.yaml name them)
        for name in ["DAGSTER_HOME", "DAGSTER_PG_URL", "DAGSTER_CELERY_BROKER_URL"]:
            monkeypatch.setenv(name, env[name])
        monkeypatch.setenv("DAGSTER_CELERY_BACKEND_URL", BACKEND_URL)
        worker = start_worker(env, tmp_path / "worker.log")
        try:
            run_config = yaml.safe_load((DEPLOY / "celery.yaml").read_text())
            with (
                dg.DagsterInstance.from_config(str(home)) as instance,
                dg.execute_job(dg.reconstructable(two_steps), instance, run_config) as result,
            ):
                assert result.success
                # Both steps ran in the worker's processes (its session), not in this one.
                step_groups = {os.getpgid(pid) for pid in result.output_for_node("build_step")}
                assert step_groups == {worker.pid} != {os.getpgid(0)}
                run = instance.get_run_by_id(result.run_id)
                assert run.status == dg.DagsterRunStatus.SUCCESS
                # And Dagster's event log says which worker took each step.
                workers = {
                    e.step_key: e.dagster_event.engine_event_data.metadata["Celery worker"].text
                    for e in instance.all_logs(result.run_id)
                    if e.dagster_event
                    and e.dagster_event.is_engine_event
                    and "in celery worker" in (e.message or "")
                }
        finally:
            stop_worker(worker)
    name = f"test-{SUFFIX}@{os.uname().nodename}"
    assert workers == {"fetch_step": name, "build_step": name}
