"""Build every model at up to three scales; print time, peak memory, the no-change rebuild and
the ratios between scales.

    .venv/bin/python bench/models.py --scales small,medium,large    # about 6 minutes on 2 cores
    .venv/bin/python bench/models.py --scales medium --workers 1,2 --repeats 3
    .venv/bin/python bench/models.py --scales small,medium --repeats 3 --profile
    .venv/bin/python bench/models.py --scales small,medium --per-account --repeats 3

Peers: the smaller scale (does twice the data cost at most 2.2x the time?) and, for the
no-change rebuild, the full build of the same data in the same process. Data: the sandbox
simulator's workspace, landed through the sync's own parsing and landing code (no HTTP: this
measures the models, not the API). The large scale is the medium workspace replicated under
new account ids (five times the data with the same shape). Each build runs in a fresh process,
so its peak RSS is the build's; repeats are interleaved across scales because the machine is
shared, and the median is reported. `--profile` prints the models that took longest (median
seconds of the full build at each scale).

`--workers 1,2` builds each scale with each number of models side by side (interleaved): its
peer is `1`, one model after another, as the build ran before models were built side by side.

`--per-account` measures the production shape as well: each account in a DuckDB file of its own
(the scale's database split by account_id), built one file after another in one process as a
partition step runs them; full build and no-change rebuild are summed over the files, and
interleaved with the one-file build of the same data (its peer).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import shutil
import statistics
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
from pipeline.model_build import configure
from pipeline.model_schedule import WORKERS, build_all
from pipeline.models import load_models, run_test
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
SCALES = ("small", "medium", "large")


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


def split_accounts(db: Path) -> list[Path]:
    """The database as one file per account (kept beside it), every table the sync writes
    holding only that account's rows."""
    folder = db.with_name(f"{db.stem}-per-account")
    if folder.exists():
        return sorted(folder.glob("*.duckdb"))
    folder.mkdir()
    source = warehouse.connect(db, read_only=True)
    accounts = [
        a for (a,) in source.execute("select distinct account_id from meta.sync_runs").fetchall()
    ]
    tables = source.execute(
        "select schema_name || '.' || table_name from duckdb_columns() where database_name = ? "
        "and column_name = 'account_id' and schema_name in ('raw', 'buildos', 'history', 'meta')",
        [warehouse.CATALOG],
    ).fetchall()
    source.close()
    paths = []
    for number, account in enumerate(sorted(accounts)):
        path = folder / f"account-{number:02d}.duckdb"
        con = warehouse.connect(path)
        ensure_tables(con)
        con.execute(f"attach '{db}' as source (read_only)")  # a path we made
        for (table,) in tables:
            con.execute(
                f"insert into {table} by name select * from source.{table} where account_id = ?",
                [account],
            )
        con.close()
        paths.append(path)
    return paths


def prepare(scale: str, data: Path) -> Path:
    """The landed database of a scale (kept in `data` between runs when it is given)."""
    db = data / f"{scale}.duckdb"
    if db.exists():
        return db
    if scale == "large":
        shutil.copy(prepare("medium", data), db)
        replicate(db, LARGE_REPLICAS)
    else:
        land_workspace(SMALL if scale == "small" else MEDIUM, db)
    return db


def _peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not getrusage: ru_maxrss keeps the parent's
    peak across fork and exec, which would charge the data preparation to the build."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def build(db: Path, memory_limit: str | None, workers: int = WORKERS) -> None:
    """One full build of a fresh copy, then a rebuild with nothing changed (child process)."""
    con = warehouse.connect(db)
    configure(con, memory_limit)
    started, cpu_started = time.perf_counter(), time.process_time()
    results = build_all(con, DEFAULT_EFFORT_WEIGHTS, full=True, workers=workers)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    models = {name: r.seconds for name, r in results.items()}
    peak_mb = _peak_rss_mb()
    started = time.perf_counter()
    again = build_all(con, DEFAULT_EFFORT_WEIGHTS)
    unchanged_seconds = time.perf_counter() - started
    counts = {
        name: con.execute(f"select count(*) from {name}").fetchall()[0][0]
        for name in ("buildos.tasks", "buildos.logs", "history.tasks")
    }
    con.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "peak_mb": peak_mb,
                "unchanged_seconds": unchanged_seconds,
                "rebuilt_when_unchanged": sum(r.accounts_rebuilt for r in again.values()),
                "tasks": counts["buildos.tasks"],
                "logs": counts["buildos.logs"],
                "history_rows": counts["history.tasks"],
                "burndown_rows": results["marts.fct_burndown_daily"].rows,
                "models": models,
            }
        )
    )


def _checks(con, results: dict) -> tuple[float, int]:
    """Run the .yml tests of every model that was not unchanged, as a partition step does
    after the builds; (seconds, failing rows)."""
    tests = [t for m in load_models() if results[m.relation].mode != "unchanged" for t in m.tests]
    started = time.perf_counter()
    failing = sum(run_test(con, test)[0] for test in tests)
    return time.perf_counter() - started, failing


def build_accounts(paths: list[Path], memory_limit: str | None) -> None:
    """Each account's file built and checked in turn, then each rebuilt (and checked) with
    nothing changed, every time on a connection of its own, as a partition step opens them
    (child process)."""
    seconds = cpu_seconds = unchanged_seconds = checks = unchanged_checks = 0.0
    rebuilt = failing = 0
    for path in paths:
        con = warehouse.connect(path)
        configure(con, memory_limit)
        started, cpu_started = time.perf_counter(), time.process_time()
        results = build_all(con, DEFAULT_EFFORT_WEIGHTS, full=True)
        seconds += time.perf_counter() - started
        cpu_seconds += time.process_time() - cpu_started
        spent, failed = _checks(con, results)
        checks, failing = checks + spent, failing + failed
        con.close()
    peak_mb = _peak_rss_mb()
    for path in paths:
        con = warehouse.connect(path)
        configure(con, memory_limit)
        started = time.perf_counter()
        again = build_all(con, DEFAULT_EFFORT_WEIGHTS)
        unchanged_seconds += time.perf_counter() - started
        unchanged_checks += _checks(con, again)[0]
        rebuilt += sum(r.accounts_rebuilt for r in again.values())
        con.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "unchanged_seconds": unchanged_seconds,
                "rebuilt_when_unchanged": rebuilt,
                "files": len(paths),
                "cpu_seconds": cpu_seconds,
                "checks_seconds": checks,
                "unchanged_checks_seconds": unchanged_checks,
                "failing_rows": failing,
            }
        )
    )


def build_in_fresh_process(
    dbs: list[Path],
    work: Path,
    memory_limit: str | None,
    per_account: bool = False,
    workers: int = WORKERS,
) -> dict:
    """Build copies of `dbs` in a child process: one database (--build, `workers` models side
    by side), or account files one after another (--build-accounts)."""
    copies = [work / f"build-{db.parent.name}-{db.name}" for db in dbs]
    for db, copy in zip(dbs, copies, strict=True):
        shutil.copy(db, copy)
    try:
        flag = "--build-accounts" if per_account else "--build"
        command = [sys.executable, __file__, flag, ",".join(str(c) for c in copies)]
        if memory_limit:
            command += ["--memory-limit", memory_limit]
        if not per_account:
            command += ["--workers", str(workers)]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    finally:
        for copy in copies:
            copy.unlink(missing_ok=True)
            shutil.rmtree(f"{copy}.tmp", ignore_errors=True)
    return json.loads(output.strip().splitlines()[-1])


def per_doubling(time_ratio: float, data_ratio: float) -> float:
    """The time ratio for twice the data, if time grows as a power of the data."""
    return 2 ** (math.log(time_ratio) / math.log(data_ratio))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scales", default=",".join(SCALES), help="comma list of " + "/".join(SCALES)
    )
    parser.add_argument("--repeats", type=int, default=1, help="builds per scale, interleaved")
    parser.add_argument("--data", help="keep the landed databases here between runs")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit (default: the models' own)")
    parser.add_argument(
        "--per-account", action="store_true", help="also build one file per account, in turn"
    )
    parser.add_argument("--profile", action="store_true", help="print the slowest models")
    parser.add_argument(
        "--workers",
        default=str(WORKERS),
        help="comma list: models built side by side (1: one after another), interleaved",
    )
    args = parser.parse_args()
    scales = [s for s in SCALES if s in args.scales.split(",")]
    work = Path(tempfile.mkdtemp(prefix="bench-models-"))
    data = Path(args.data) if args.data else work
    data.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        dbs = {scale: prepare(scale, data) for scale in scales}
        files = {scale: split_accounts(dbs[scale]) for scale in scales if args.per_account}
        print(f"data prepared in {time.perf_counter() - started:.0f}s (not part of the figures)")
        runs: dict[str, list[dict]] = {scale: [] for scale in scales}
        split: dict[str, list[dict]] = {scale: [] for scale in files}
        # the figures are the last number of workers'; the others are its peers
        workers = [int(n) for n in args.workers.split(",")]
        peers: dict[tuple[str, int], list[dict]] = {(s, n): [] for s in scales for n in workers}
        for _ in range(args.repeats):
            for scale in scales:
                for n in workers:
                    peers[scale, n].append(
                        build_in_fresh_process([dbs[scale]], work, args.memory_limit, workers=n)
                    )
                runs[scale].append(peers[scale, workers[-1]][-1])
                if scale in files:
                    split[scale].append(
                        build_in_fresh_process(files[scale], work, args.memory_limit, True)
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results = {
        scale: {
            **r[0],
            "seconds": statistics.median(x["seconds"] for x in r),
            "cpu_seconds": statistics.median(x["cpu_seconds"] for x in r),
            "peak_mb": max(x["peak_mb"] for x in r),
            "unchanged_seconds": statistics.median(x["unchanged_seconds"] for x in r),
        }
        for scale, r in runs.items()
    }
    print(
        f"{'scale':<8}{'tasks':>11}{'logs':>11}{'build s':>9}{'CPU s':>7}{'peak MB':>9}"
        f"{'no-change s':>13}{'vs full':>9}{'s/100k tasks':>14}"
    )
    for scale, r in results.items():
        print(
            f"{scale:<8}{r['tasks']:>11,}{r['logs']:>11,}{r['seconds']:>9.1f}"
            f"{r['cpu_seconds']:>7.1f}{r['peak_mb']:>9.0f}{r['unchanged_seconds']:>13.2f}"
            f"{r['unchanged_seconds'] / r['seconds']:>8.1%}"
            f"{r['seconds'] / r['tasks'] * 100_000:>14.2f}"
        )
    if args.profile:
        for scale, r in runs.items():
            medians = {m: statistics.median(x["models"][m] for x in r) for m in r[0]["models"]}
            slowest = sorted(medians.items(), key=lambda item: -item[1])[:8]
            print(f"{scale} slowest: " + ", ".join(f"{m} {t:.2f}s" for m, t in slowest))
    for scale in scales:
        if len(workers) == 1:
            break
        line = []
        for n in workers:
            seconds = [x["seconds"] for x in peers[scale, n]]
            cpu = statistics.median(x["cpu_seconds"] for x in peers[scale, n])
            each = "/".join(f"{x:.1f}" for x in seconds)
            line.append(f"{n} at once {statistics.median(seconds):.1f}s ({each}; CPU {cpu:.1f}s)")
        ratio = statistics.median(x["seconds"] for x in peers[scale, workers[-1]]) / (
            statistics.median(x["seconds"] for x in peers[scale, workers[0]])
        )
        print(f"{scale} models built: " + ", ".join(line) + f"; {ratio:.2f}x the first")
    for scale, r in split.items():
        full = statistics.median(x["seconds"] for x in r)
        unchanged = statistics.median(x["unchanged_seconds"] for x in r)
        one = results[scale]
        print(
            f"{scale} in {r[0]['files']} one-account files: build {full:.1f}s "
            f"({full / one['seconds']:.2f}x the one-file build; CPU "
            f"{statistics.median(x['cpu_seconds'] for x in r):.1f}s), peak "
            f"{max(x['peak_mb'] for x in r):.0f} MB, no-change {unchanged:.2f}s "
            f"({unchanged / full:.1%} of the build), {r[0]['rebuilt_when_unchanged']} rebuilt; "
            f"per file {full / r[0]['files']:.2f}s and {unchanged / r[0]['files']:.3f}s"
        )
        checks = statistics.median(x["checks_seconds"] for x in r)
        print(
            f"  checks after the build: {checks:.1f}s ({checks / full:.0%} of the build, "
            f"{r[0]['failing_rows']} failing rows); after the no-change rebuild: "
            f"{statistics.median(x['unchanged_checks_seconds'] for x in r):.2f}s"
        )
    for smaller, larger in itertools.pairwise(scales):
        a, b = results[smaller], results[larger]
        data_ratio, time_ratio = b["tasks"] / a["tasks"], b["seconds"] / a["seconds"]
        print(
            f"{larger} vs {smaller}: {data_ratio:.1f}x the tasks in {time_ratio:.2f}x the time "
            f"({per_doubling(time_ratio, data_ratio):.2f}x per doubling), "
            f"{b['peak_mb'] / a['peak_mb']:.2f}x the peak memory"
        )


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] in ("--build", "--build-accounts"):
        options = dict(zip(sys.argv[3::2], sys.argv[4::2], strict=True))
        limit = options.get("--memory-limit")
        paths = [Path(p) for p in sys.argv[2].split(",")]
        if sys.argv[1] == "--build":
            build(paths[0], limit, int(options.get("--workers", WORKERS)))
        else:
            build_accounts(paths, limit)
    else:
        main()
