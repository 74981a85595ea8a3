"""An S3-compatible server on loopback (moto's `moto_server`) for the tests, the benchmark and a
demo of the lake on object storage; production points the lake at a real bucket instead."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

START_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def moto_command() -> str:
    """The moto_server beside this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).parent / "moto_server"
    found = str(beside) if beside.exists() else shutil.which("moto_server")
    if found is None:
        raise RuntimeError("moto_server not found: pip install 'moto[server]'")
    return found


@contextmanager
def local_s3(*buckets: str) -> Iterator[str]:
    """Run moto_server on a free loopback port with these buckets; yields its endpoint URL
    (http://127.0.0.1:PORT) and stops the server on exit."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [moto_command(), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                httpx.get(endpoint, timeout=1.0)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start on {endpoint}") from None
                time.sleep(0.1)
        for bucket in buckets:
            # moto accepts any credentials; a bucket is one PUT
            httpx.put(f"{endpoint}/{bucket}", timeout=10.0).raise_for_status()
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
