"""Fixtures for the sync tests: sandboxes started in-process for one test, stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.sandbox import SandboxServer, start_sandbox


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes of this test's own: `sandbox_factory(options, faults=..., ...)`."""
    started: list[SandboxServer] = []

    def start(options=None, **kwargs) -> SandboxServer:
        server = start_sandbox(options, **kwargs)
        started.append(server)
        return server

    yield start
    # Each stop waits up to the server's poll interval: stop them side by side.
    with ThreadPoolExecutor(max(len(started), 1)) as pool:
        list(pool.map(SandboxServer.stop, started))
