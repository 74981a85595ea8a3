"""The real services the tests talk to: where they are, a check that fails (never skips) when
one is not answering, scratch schemas and databases of a test's own, and an S3-compatible
server (moto) started on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

# CI points these at its own servers; the defaults are the machine's (docs: .ci/run).
POSTGRES_URL = os.environ.get(
    "BUILDOS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BUILDOS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("BUILDOS_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")

# How .ci/run (or a developer) starts each one, for the failure message.
STARTS = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "Redis": "redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' "
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
    "RabbitMQ": "rabbitmq-server -detached",
}


def libpq_url(url: str | None = None) -> str:
    """The URL (default POSTGRES_URL) without SQLAlchemy's +driver, as psycopg and libpq
    take it."""
    url = url or POSTGRES_URL
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def require_postgres() -> str:
    import psycopg

    try:
        psycopg.connect(libpq_url(), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        _missing("PostgreSQL", POSTGRES_URL, exc)
    return POSTGRES_URL


def require_redis() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).ping()
    except redis.RedisError as exc:
        _missing("Redis", REDIS_URL, exc)
    return REDIS_URL


def require_rabbitmq() -> str:
    import kombu

    try:
        with kombu.Connection(AMQP_URL, connect_timeout=5) as con:
            con.connect()
    except OSError as exc:
        _missing("RabbitMQ", AMQP_URL.replace("guest:guest@", "guest:***@"), exc)
    return AMQP_URL


def _missing(name: str, where: str, error: Exception) -> None:
    pytest.fail(
        f"{name} is required at {where} and is not answering ({error}). Start it "
        f"(`{STARTS[name]}`) or run .ci/run, which does.",
        pytrace=False,
    )


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A schema of the test's own in the test database, dropped afterwards."""
    import psycopg

    require_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(), autocommit=True) as con:
        con.execute(f'create schema "{name}"')
    try:
        yield name
    finally:
        with psycopg.connect(libpq_url(), autocommit=True) as con:
            con.execute(f'drop schema if exists "{name}" cascade')


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database of the test's own on the test server (a SQLAlchemy URL with the
    psycopg2 driver, as dagster-postgres takes it), dropped afterwards."""
    import psycopg

    require_postgres()
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_url(), autocommit=True) as con:
        con.execute(f'create database "{name}"')
    url = sa.engine.make_url(POSTGRES_URL).set(drivername="postgresql+psycopg2", database=name)
    try:
        yield url.render_as_string(False)
    finally:
        with psycopg.connect(libpq_url(), autocommit=True) as con:
            con.execute(f'drop database if exists "{name}" with (force)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, deadline_seconds: float, process: subprocess.Popen | None = None):
    """Until 127.0.0.1:port accepts a connection; fails past the deadline or if `process`
    exits first."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"{process.args[0]} exited with {process.returncode} before listening")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on 127.0.0.1:{port} after {deadline_seconds:g} s")


@contextmanager
def moto_s3(tmp_path) -> Iterator[str]:
    """An S3-compatible server (moto_server) on a free loopback port; yields its endpoint URL
    and stops it afterwards."""
    # the one installed beside this Python (make test runs .venv/bin/pytest unactivated)
    beside = Path(sys.executable).parent / "moto_server"
    command = str(beside) if beside.exists() else shutil.which("moto_server")
    if command is None:
        pytest.fail("moto_server is not installed: pip install -e '.[dev]' (moto[server])")
    port = free_port()
    log = (tmp_path / "moto_server.log").open("wb")
    process = subprocess.Popen(
        [command, "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        wait_for_port(port, 30, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
