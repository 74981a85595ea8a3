"""The fleet-wide request budget against the real Redis: processes sharing one bucket never
take more than rate * elapsed + burst tokens, a wait past the deadline raises TimeoutError,
and the API client spends the budget on every request."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
import redis

from pipeline.buildos.client import BuildOSClient, ClientSettings
from pipeline.buildos.politeness import DeploymentGate
from pipeline.fleet import FleetBudget, fleet_from_env
from pipeline.paths import PROJECT_ROOT
from tests.services import REDIS_URL, require_redis

# Takes argv[4] tokens (async or blocking by argv[5]); prints, for each, the wall time just
# before asking and just after getting it: Redis granted it somewhere in between.
TAKER = """
import asyncio, sys, time
from pipeline.fleet import FleetBudget
budget = FleetBudget(sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), key=sys.argv[6])
count = int(sys.argv[4])
async def take_async():
    for _ in range(count):
        before = time.time()
        await budget.acquire(time.monotonic() + 120)
        print(before, time.time(), flush=True)
if sys.argv[5] == "async":
    asyncio.run(take_async())
else:
    for _ in range(count):
        before = time.time()
        budget.acquire_blocking(time.monotonic() + 120)
        print(before, time.time(), flush=True)
"""


@pytest.fixture
def key() -> str:
    require_redis()
    name = f"buildos:test:fleet:{uuid.uuid4().hex}"
    yield name
    redis.Redis.from_url(REDIS_URL).delete(name)


def test_processes_sharing_the_bucket_never_exceed_rate_times_elapsed_plus_burst(key):
    rate, burst, processes, each = 20.0, 5, 4, 15
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, REDIS_URL, str(rate), str(burst), str(each), mode, key],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        )
        for mode in ["async", "blocking"] * (processes // 2)
    ]
    grants = []  # (before, after) of each token
    for taker in takers:
        out, _ = taker.communicate(timeout=300)
        assert taker.returncode == 0
        grants += [tuple(map(float, line.split())) for line in out.splitlines()]
    grants.sort(key=lambda grant: grant[1])
    assert len(grants) == processes * each
    # Any set of grants spans at most (its latest `after` - its earliest `before`) of real
    # time, so a bucket that holds admits at most rate * that + burst of them, however late
    # a busy machine let a taker read its clock. Checked for every run of grants in order.
    worst = max(
        (j - i + 1) - (rate * (grants[j][1] - min(b for b, _ in grants[i : j + 1])) + burst)
        for i in range(len(grants))
        for j in range(i, len(grants))
    )
    assert worst <= 0.01, f"{worst:.2f} tokens over the budget in some window"


def test_a_wait_past_the_deadline_raises_timeout_error(key):
    budget = FleetBudget(REDIS_URL, requests_per_second=0.01, burst=2, key=key)
    budget.acquire_blocking(time.monotonic() + 1)
    asyncio.run(budget.acquire(time.monotonic() + 1))
    with pytest.raises(TimeoutError, match="no token before the deadline"):
        budget.acquire_blocking(time.monotonic() + 5)
    with pytest.raises(TimeoutError):
        asyncio.run(budget.acquire(time.monotonic() + 5))


def test_the_client_spends_the_fleet_budget_on_each_request(key):
    answered = []

    def answer(request: httpx.Request) -> httpx.Response:
        answered.append(request.url.path)
        return httpx.Response(200, json={"success": True, "data": {"ok": True}})

    async def requests() -> None:
        settings = ClientSettings(base_url="http://buildos.invalid", api_key="k", max_attempts=1)
        budget = FleetBudget(REDIS_URL, requests_per_second=0.01, burst=3, key=key)
        gate = DeploymentGate(fleet=budget)
        transport = httpx.MockTransport(answer)
        async with BuildOSClient(settings, transport=transport, gate=gate) as client:
            for _ in range(3):
                assert await client.get("/api/onto/projects") == {"ok": True}
            # the fourth would wait 100 s for a token, past the request's deadline
            with pytest.raises(TimeoutError):
                await client.get("/api/onto/projects")

    asyncio.run(requests())
    assert len(answered) == 3


def test_configured_from_the_environment_without_showing_the_url():
    assert fleet_from_env({}) is None
    budget = fleet_from_env(
        {
            "BUILDOS_FLEET_REDIS_URL": "redis://:s3cret@127.0.0.1:6379/0",
            "BUILDOS_FLEET_REQUESTS_PER_SECOND": "50",
        }
    )
    assert (budget.rate, budget.burst) == (50.0, 50)
    assert "s3cret" not in repr(budget)
    with pytest.raises(ValueError, match="requests_per_second > 0"):
        FleetBudget(REDIS_URL, 0, 1)


def test_many_requests_waiting_at_once_share_one_connection_per_loop():
    """A sync has hundreds of requests waiting on the budget at once; they ask Redis one at
    a time, so the client's connection pool (100 in redis-py 8) is never exhausted."""
    require_redis()
    budget = FleetBudget(REDIS_URL, 2000.0, 50, key=f"test:fleet:{uuid.uuid4().hex}")

    async def many() -> None:
        deadline = time.monotonic() + 60
        await asyncio.gather(*(budget.acquire(deadline) for _ in range(300)))

    asyncio.run(many())
