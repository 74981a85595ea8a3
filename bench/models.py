"""Build every model at three scales and print time and peak memory per scale.

    .venv/bin/python bench/models.py            # about 5 minutes on 2 cores

Data: the sandbox simulator's workspace, landed through the sync's own parsing and landing code
(no HTTP: this measures the models, not the API). The largest scale is the medium workspace
replicated under new account ids; every model partitions by account, so it is five times the
data with the same shape. Each build runs in a fresh process, so its peak RSS is the build's.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from pipeline import warehouse
from pipeline.buildos.landing import AccountStage, ensure_tables
from pipeline.buildos.records import ENTITIES
from pipeline.models import build_all
from pipeline.resources import DEFAULT_EFFORT_WEIGHTS
from pipeline.sandbox import SimulationOptions, generate_workspace
from pipeline.sandbox.model import iso
from pipeline.sandbox.view import WorkspaceView

NOW = datetime(2026, 3, 2, tzinfo=UTC)
SMALL = SimulationOptions(
    seed=1,
    accounts=1,
    projects_per_account=100,
    tasks_per_project=210,
    days=120,
    horizon_days=1,
    now=NOW,
)
MEDIUM = SimulationOptions(
    seed=1,
    accounts=10,
    projects_per_account=100,
    tasks_per_project=210,
    days=120,
    horizon_days=1,
    now=NOW,
)
LARGE_REPLICAS = 5


def land_workspace(options: SimulationOptions, db: Path) -> None:
    """Everything the API would serve at now, landed as a full sync would land it."""
    workspace = generate_workspace(options)
    view = WorkspaceView(workspace)
    con = warehouse.connect(db)
    ensure_tables(con)
    synced_at = datetime.now(UTC)
    for account in workspace.accounts:
        sync_id = uuid.uuid4().hex
        batch = AccountStage(con, account.id, sync_id, synced_at)
        for row in view.live_projects[account.id]:
            project = view.project(account, row["id"])
            scope = {"project_id": row["id"]}
            batch.add("projects", [project.project])
            batch.add("tasks", project.tasks + project.deleted_tasks, scope)
            for name in ("goals", "plans", "milestones", "documents", "edges", "events", "logs"):
                batch.add(name, getattr(project, name), scope)
            if batch.pending_rows() > 200_000:
                batch.flush()
        batch.add("braindumps", view.braindumps(account))
        batch.add("briefs", view.briefs(account))
        batch.merge()
        con.execute(
            "insert into meta.sync_runs (sync_id, account_id, mode, status, started_at, "
            "finished_at, server_now) values (?, ?, 'full', 'succeeded', ?, ?, ?)",
            [sync_id, account.id, synced_at, synced_at, iso(workspace.now)],
        )
    con.close()


def replicate(db: Path, copies: int) -> None:
    """Add `copies - 1` copies of every account's rows under new account ids."""
    con = warehouse.connect(db)
    tables = [f"{schema}.{name}" for name in ENTITIES for schema in ("raw", "buildos")]
    tables += [f"history.{name}" for name, spec in ENTITIES.items() if spec.history]
    for copy in range(1, copies):
        suffix = f"-copy{copy}"
        for table in [*tables, "meta.sync_runs"]:
            extra = ", sync_id || ? as sync_id" if table == "meta.sync_runs" else ""
            params = [suffix, suffix] if extra else [suffix]
            con.execute(
                f"insert into {table} select * replace (account_id || ? as account_id"
                f"{extra}) from {table} where account_id not like '%-copy%'",
                params,
            )
    con.close()


def build_in_fresh_process(db: Path) -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--build", str(db)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not getrusage: ru_maxrss keeps the parent's
    peak across fork and exec, which would charge the data preparation to the build."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def build(db: Path) -> None:
    con = warehouse.connect(db)
    started = time.perf_counter()
    counts = build_all(con, DEFAULT_EFFORT_WEIGHTS)
    seconds = time.perf_counter() - started
    peak_mb = _peak_rss_mb()
    tasks = con.execute("select count(*) from buildos.tasks").fetchall()[0][0]
    history = con.execute("select count(*) from history.tasks").fetchall()[0][0]
    logs = con.execute("select count(*) from buildos.logs").fetchall()[0][0]
    con.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "tasks": tasks,
                "logs": logs,
                "history_rows": history,
                "task_days": counts["intermediate.int_task_days"],
                "burndown_rows": counts["marts.fct_burndown_daily"],
            }
        )
    )


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-models-"))
    try:
        started = time.perf_counter()
        land_workspace(SMALL, work / "small.duckdb")
        land_workspace(MEDIUM, work / "medium.duckdb")
        shutil.copy(work / "medium.duckdb", work / "large.duckdb")
        replicate(work / "large.duckdb", LARGE_REPLICAS)
        print(f"data prepared in {time.perf_counter() - started:.0f}s (not part of the figures)")
        results = {
            name: build_in_fresh_process(work / f"{name}.duckdb")
            for name in ("small", "medium", "large")
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = results["small"]
    print(
        f"{'scale':<8}{'tasks':>11}{'logs':>11}{'task-days':>13}{'build s':>10}"
        f"{'peak MB':>10}{'s per 100k tasks':>18}{'time vs small':>15}{'tasks vs small':>16}"
    )
    for name, r in results.items():
        print(
            f"{name:<8}{r['tasks']:>11,}{r['logs']:>11,}{r['task_days']:>13,}"
            f"{r['seconds']:>10.1f}{r['peak_mb']:>10.0f}"
            f"{r['seconds'] / r['tasks'] * 100_000:>18.2f}"
            f"{r['seconds'] / base['seconds']:>15.1f}x{r['tasks'] / base['tasks']:>15.1f}x"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--build":
        build(Path(sys.argv[2]))
    else:
        main()
