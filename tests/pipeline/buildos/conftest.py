"""Fixtures for the sync tests: sandboxes started in-process for one test, stopped afterwards."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis.configuration import set_hypothesis_home_dir

from pipeline.sandbox import SandboxServer, start_sandbox

# Hypothesis keeps caches (its example database is off) under .hypothesis in the working
# directory: tests never write into the checkout, so it gets a folder of its own.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="hypothesis-"))


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
