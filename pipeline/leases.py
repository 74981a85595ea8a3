"""One writer per account across every worker: a lease taken before an account's file is
opened for writing.

With a PostgreSQL URL (the distributed deployment) the lease is a session advisory lock; without
one, an flock on `<root>/accounts/<id>/.lease` (one machine). Both end with the process that
holds them, however it dies: the server drops a dead connection's session locks and the kernel
an exited process's flocks, so a SIGKILLed worker never leaves an account locked.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from pipeline import safety

# Polling: quick at first (a lease is usually free within a step's start-up), then patient.
FIRST_POLL, MAX_POLL = 0.05, 1.0


class LeaseBusy(TimeoutError):
    """Another process held the account's lease for the whole wait."""

    def __init__(self, account_id: str, holder_info: str):
        super().__init__(f"account {account_id} is being written by {holder_info}")
        self.account_id, self.holder_info = account_id, holder_info


@contextmanager
def account_lease(
    account_id: str, *, root: Path, url: str | None, wait_seconds: float
) -> Iterator[None]:
    """Hold the account's lease for the block; LeaseBusy after `wait_seconds` of waiting."""
    account_id = safety.account_id(account_id)
    holder = f"PID {os.getpid()} on {socket.gethostname()}"
    lease = _postgres_lease if url else _file_lease
    with lease(account_id, root, url, wait_seconds, holder):
        yield


def _polls(wait_seconds: float) -> Iterator[None]:
    """Yields once per attempt until the deadline, sleeping between attempts."""
    deadline = time.monotonic() + max(wait_seconds, 0)
    pause = FIRST_POLL
    while True:
        yield
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(pause, left))
        pause = min(pause * 2, MAX_POLL)


@contextmanager
def _file_lease(
    account_id: str, root: Path, url: None, wait_seconds: float, holder: str
) -> Iterator[None]:
    folder = safety.account_root(Path(root), account_id)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lease", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        for _ in _polls(wait_seconds):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                continue
        else:
            raise LeaseBusy(account_id, _read_holder(fd))
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder.encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock


def _read_holder(fd: int) -> str:
    text = os.pread(fd, 300, 0).decode(errors="replace").strip()
    return text or "another process"


def lock_key(account_id: str) -> int:
    """The account's advisory lock key: the UUID's first 64 bits as a signed bigint."""
    return int.from_bytes(uuid.UUID(account_id).bytes[:8], "big", signed=True)


@contextmanager
def _postgres_lease(
    account_id: str, root: Path, url: str, wait_seconds: float, holder: str
) -> Iterator[None]:
    import psycopg

    # psycopg takes libpq URLs; a SQLAlchemy URL (postgresql+psycopg2://...) loses its driver.
    dsn = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)
    key = lock_key(account_id)
    # The application name is what the next process reads back as the holder.
    with psycopg.connect(
        dsn, autocommit=True, application_name=f"buildos lease {holder}"[:63], connect_timeout=10
    ) as con:
        for _ in _polls(wait_seconds):
            if con.execute("select pg_try_advisory_lock(%s)", [key]).fetchone()[0]:
                break
        else:
            raise LeaseBusy(account_id, _pg_holder(con, key))
        try:
            yield
        finally:
            con.execute("select pg_advisory_unlock(%s)", [key])


def _pg_holder(con, key: int) -> str:
    row = con.execute(
        "select a.application_name, a.pid, a.client_addr from pg_locks l "
        "join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
        "and l.classid = ((%s::bigint >> 32) & 4294967295)::oid "
        "and l.objid = (%s::bigint & 4294967295)::oid",
        [key, key],
    ).fetchone()
    if row is None:
        return "another process"
    name, pid, address = row
    return f"{name or 'a session'} (server PID {pid}, from {address or 'a local socket'})"
