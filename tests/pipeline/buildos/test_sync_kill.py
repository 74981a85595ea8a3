"""A sync killed with SIGKILL at any point, then run again, ends with the same tables as a
sync that was never interrupted: every flush is one transaction and every cursor is read back
from the landed tables."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.buildos.records import ENTITIES
from pipeline.paths import PROJECT_ROOT
from tests.pipeline.buildos.sync_helpers import (
    advance,
    all_tables,
    assert_same_tables,
    current_tables,
    rows,
    simulation,
    sync_all,
)

OPTIONS = simulation(6, accounts=1, projects=6)
ADVANCE_DAYS = 4
REQUESTS_PER_SECOND = 40  # slow enough that every phase of the sync lasts a while


def _removed_ids(db: Path) -> dict[str, set]:
    return {
        name: set(rows(db, f"select id from buildos.{name} where _removed_at is not null"))
        for name in ENTITIES
    }


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """What uninterrupted syncs land (read-only): a first full sync, and an incremental one
    after the clock moved. The sandbox is deterministic for a fixed now, so a sandbox started
    later with the same options serves the same data."""
    from pipeline.sandbox import start_sandbox

    folder = tmp_path_factory.mktemp("reference")
    with start_sandbox(OPTIONS) as server:
        first = folder / "first.duckdb"
        sync_all(server, first)
        advance(server, ADVANCE_DAYS)
        second = folder / "second.duckdb"
        shutil.copy(first, second)
        [result] = sync_all(server, second)
        assert result.mode == "incremental"
    return {
        "first": all_tables(first),
        "second": current_tables(second, live_only=True),
        "second_removed": _removed_ids(second),
    }


def _start_worker(base_url: str, db: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.pipeline.buildos.sync_worker"),
            *(base_url, str(db), str(REQUESTS_PER_SECOND)),
        ],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


def _kill_when(worker: subprocess.Popen, line_prefix: str, delay: float) -> list[str]:
    """Read the worker's lines until one starts with `line_prefix`, wait `delay` seconds, then
    SIGKILL it. Returns the lines it printed; fails if it finished first."""
    seen = []
    for line in worker.stdout:
        seen.append(line.strip())
        if line.startswith(line_prefix):
            break
    time.sleep(delay)
    assert worker.poll() is None, f"the sync finished before the kill: {seen}"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)
    worker.stdout.close()
    assert worker.returncode == -signal.SIGKILL
    return seen


# (after which line, then how long): before any project landed, after a few, once every
# project is in (brain dumps being read), and late in the brain dump details.
KILL_POINTS = [
    pytest.param("syncing", 0.05, id="at-start"),
    pytest.param("progress 2 ", 0.0, id="after-2-projects"),
    pytest.param("progress 6 ", 0.1, id="after-all-projects"),
    pytest.param("progress 6 ", 1.0, id="reading-braindumps"),
]


@pytest.mark.parametrize(("line_prefix", "delay"), KILL_POINTS)
def test_a_first_sync_killed_and_run_again_lands_the_same_tables(
    sandbox_factory, tmp_path, reference, line_prefix, delay
):
    server = sandbox_factory(OPTIONS)
    db = tmp_path / "w.duckdb"

    _kill_when(_start_worker(server.base_url, db), line_prefix, delay)

    # Killed before its login answered, the run left no row; after it, a "running" one.
    killed = [r[0] for r in rows(db, "select status from meta.sync_runs")] if db.exists() else []
    assert killed in ([], ["running"])
    [result] = sync_all(server, db)

    assert result.mode == "full"
    assert_same_tables(all_tables(db), reference["first"])
    statuses = sorted(r[0] for r in rows(db, "select status from meta.sync_runs"))
    # The rerun marks the killed run abandoned: no row stays `running` for ever.
    assert statuses == sorted([*("abandoned" for _ in killed), "succeeded"])


def test_an_incremental_sync_killed_and_run_again_lands_the_same_tables(
    sandbox_factory, tmp_path, reference
):
    server = sandbox_factory(OPTIONS)
    db = tmp_path / "w.duckdb"
    sync_all(server, db)
    advance(server, ADVANCE_DAYS)

    _kill_when(_start_worker(server.base_url, db), "progress 3 ", 0.0)
    [result] = sync_all(server, db)

    assert result.mode == "incremental"
    assert_same_tables(current_tables(db, live_only=True), reference["second"])
    assert _removed_ids(db) == reference["second_removed"]
