"""Account leases across processes: a second process waits, then gets LeaseBusy naming the
holder; a lease held by a SIGKILLed process is free again. Both mechanisms: the PostgreSQL
advisory lock and the file lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipeline.leases import LeaseBusy, account_lease
from pipeline.paths import PROJECT_ROOT
from tests.services import POSTGRES_URL, require_postgres

# Takes the lease, says so on stdout, then holds it until killed (or for argv[3] seconds).
HOLDER = """
import sys, time
from pathlib import Path
from pipeline.leases import account_lease
url = sys.argv[2] or None
with account_lease(sys.argv[1], root=Path(sys.argv[4]), url=url, wait_seconds=30):
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
print("released", flush=True)
"""


def hold(account: str, root: Path, url: str | None, seconds: float) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, account, url or "", str(seconds), str(root)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.fixture(params=["file", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request) -> str | None:
    if request.param == "postgres":
        require_postgres()
        return POSTGRES_URL
    return None


def test_a_second_process_waits_then_is_told_who_holds_it(url, tmp_path):
    account = str(uuid.uuid4())
    holder = hold(account, tmp_path, url, 600)
    try:
        started = time.monotonic()
        with (
            pytest.raises(LeaseBusy) as caught,
            account_lease(account, root=tmp_path, url=url, wait_seconds=0.6),
        ):
            pass
        assert time.monotonic() - started >= 0.6  # it waited its whole deadline first
        assert caught.value.account_id == account
        assert f"PID {holder.pid}" in caught.value.holder_info
    finally:
        holder.kill()
        holder.wait()


def test_a_lease_freed_while_waiting_is_taken(url, tmp_path):
    account = str(uuid.uuid4())
    holder = hold(account, tmp_path, url, 1.0)
    try:
        with account_lease(account, root=tmp_path, url=url, wait_seconds=30):
            # the holder let go (it printed so) before this block was entered
            assert holder.stdout.readline().strip() == "released"
    finally:
        holder.wait(30)


def test_a_sigkilled_holder_releases_the_lease(url, tmp_path):
    account = str(uuid.uuid4())
    holder = hold(account, tmp_path, url, 600)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    with account_lease(account, root=tmp_path, url=url, wait_seconds=30):
        pass


def test_different_accounts_do_not_contend(url, tmp_path):
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    holder = hold(first, tmp_path, url, 600)
    try:
        with account_lease(second, root=tmp_path, url=url, wait_seconds=0):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_an_account_id_that_is_not_a_uuid_never_names_a_file(tmp_path):
    with (
        pytest.raises(ValueError, match="not a UUID"),
        account_lease("../../etc", root=tmp_path, url=None, wait_seconds=0),
    ):
        pass
    assert list(tmp_path.iterdir()) == []
