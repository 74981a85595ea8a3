"""Who holds a DuckDB file's lock, and a message that says so and what to open instead.

DuckDB locks its file with POSIX record locks (fcntl); F_GETLK tells which process holds one
that conflicts with ours, so the message names the process rather than guessing from text.
"""

from __future__ import annotations

import fcntl
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import duckdb

# struct flock on Linux: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid.
FLOCK = "hhqqi4x"


@dataclass(frozen=True)
class LockHolder:
    pid: int
    command: str


def lock_holder(path: str | Path, for_writing: bool = True) -> LockHolder | None:
    """The process holding a lock on `path` that conflicts with a write (or read) lock; None
    when there is none, or it cannot be told."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        kind = fcntl.F_WRLCK if for_writing else fcntl.F_RDLCK
        query = struct.pack(FLOCK, kind, os.SEEK_SET, 0, 0, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, query)
    except OSError:
        return None
    finally:
        os.close(fd)
    found, _, _, _, pid = struct.unpack(FLOCK, answer)
    if found == fcntl.F_UNLCK or pid <= 0:
        return None
    return LockHolder(pid, _command(pid))


def _command(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "unknown command"
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:200]


class WarehouseLocked(duckdb.IOException):
    """The pipeline's DuckDB file is held by another process."""


def locked_error(path: str | Path, read_only: bool, cause: Exception) -> Exception:
    """A WarehouseLocked naming the file and its holder when another process holds `path`;
    otherwise `cause` itself."""
    holder = lock_holder(path, for_writing=not read_only)
    if holder is None:
        return cause
    return WarehouseLocked(
        f"Could not open {Path(path).resolve()}: its lock is held by PID {holder.pid} "
        f"({holder.command}). This is the pipeline's work file: one writer at a time, and any "
        "reader keeps the pipeline from writing. To read the data, open the serving file "
        "analytics.duckdb in the exports folder (exports/analytics.duckdb by default, "
        "read-only), the Parquet under exports/current, or PostgreSQL; to run the pipeline, "
        "close that process first."
    )
