"""Fixtures for the sandbox tests: real HTTP sandboxes started in-process, stopped afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.sandbox import SandboxServer, start_sandbox
from tests.pipeline.sandbox.sandbox_helpers import SMALL, TINY


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., SandboxServer]]:
    """Start sandboxes for one test: `sandbox_factory(options, faults=..., ...)`."""
    started: list[SandboxServer] = []

    def start(options=TINY, **kwargs) -> SandboxServer:
        server = start_sandbox(options, **kwargs)
        started.append(server)
        return server

    yield start
    # Each stop waits up to the server's 0.5 s poll interval: stop them side by side.
    with ThreadPoolExecutor(max(len(started), 1)) as pool:
        list(pool.map(SandboxServer.stop, started))


@pytest.fixture
def tiny(sandbox_factory) -> SandboxServer:
    """A small sandbox of this test's own, free to advance the clock or set faults on."""
    return sandbox_factory(TINY)


@pytest.fixture(scope="module")
def shared() -> Iterator[SandboxServer]:
    """A read-only sandbox shared by a module's tests: never advance it or set faults on it."""
    server = start_sandbox(SMALL)
    yield server
    server.stop()
