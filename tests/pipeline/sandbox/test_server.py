"""The HTTP plumbing: starting and stopping, keep-alive latency."""

from __future__ import annotations

import threading
import time

import httpx

from pipeline.sandbox import start_sandbox
from tests.pipeline.sandbox.sandbox_helpers import TINY, api_client, ok


def _serving_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "buildos-sandbox" and t.is_alive()]


def test_the_context_manager_serves_once_and_stops_promptly():
    """The docstring's way to use the sandbox: `with start_sandbox(...) as sandbox:`."""
    before = set(_serving_threads())
    with start_sandbox(TINY) as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        ok(httpx.get(f"{sandbox.base_url}/__sandbox/health"))
        assert len(set(_serving_threads()) - before) == 1, "one serving thread per sandbox"
        started = time.perf_counter()
    assert time.perf_counter() - started < 2.0, "leaving the block should not hang"
    assert not set(_serving_threads()) - before, "a serving thread outlived the sandbox"


def test_start_and_stop_without_a_context_manager():
    before = set(_serving_threads())
    sandbox = start_sandbox(TINY)
    ok(httpx.get(f"{sandbox.base_url}/__sandbox/health"))
    started = time.perf_counter()
    sandbox.stop()
    assert time.perf_counter() - started < 2.0
    assert not set(_serving_threads()) - before
    try:
        httpx.get(f"{sandbox.base_url}/__sandbox/health", timeout=1)
    except httpx.TransportError:
        pass
    else:
        raise AssertionError("a stopped sandbox still answered")


def test_keep_alive_requests_are_not_delayed(tiny):
    """A client keeps one connection (the contract: "Keep one client session"). Small answers on
    it must not wait for the peer's delayed ACK (Nagle): well under 20 ms each on loopback."""
    with api_client(tiny) as client:
        ok(client.get("/api/projects"))
        started = time.perf_counter()
        for _ in range(20):
            ok(client.get("/api/projects"))
        mean = (time.perf_counter() - started) / 20
    assert mean < 0.02, f"{mean * 1000:.1f} ms a request on a keep-alive connection"


def test_unknown_admin_route_is_not_found(tiny):
    response = httpx.get(f"{tiny.base_url}/__sandbox/nothing")
    assert response.status_code == 404
    assert response.json()["code"] == "NOT_FOUND"
