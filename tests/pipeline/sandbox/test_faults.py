"""Faults on demand: each kind at rate 1, mixed rates over many requests, seeded sequences, and
the validation of fault settings."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from pipeline.sandbox import FaultConfig, account_credentials
from tests.pipeline.sandbox.sandbox_helpers import api_client, bearer, fails, ok

CHEAP = "/api/onto/braindumps"
DROPPED = (httpx.RemoteProtocolError, httpx.ReadError)


def _stats(sandbox) -> dict:
    return ok(httpx.get(f"{sandbox.base_url}/__sandbox/stats"))


def _outcome(client: httpx.Client, path: str = CHEAP) -> str:
    """What one request got: its status code, or "drop" when the body was cut."""
    try:
        return str(client.get(path, params={"limit": 1}).status_code)
    except DROPPED:
        return "drop"


def _login(client: httpx.Client) -> None:
    email, password, _key = account_credentials(0)
    ok(client.post("/api/auth/login", json={"email": email, "password": password}))


def test_rate_limit_answers_429_with_retry_after(sandbox_factory):
    sandbox = sandbox_factory(faults=FaultConfig(rate_limit=1.0, retry_after=7))
    with api_client(sandbox) as client:
        for path, params in (
            ("/api/projects", {}),
            (CHEAP, {}),
            ("/api/daily-briefs/history", {}),
            ("/api/calendar/items", {"start": "2026-01-01", "end": "2026-02-01"}),
        ):
            response = client.get(path, params=params)
            fails(response, 429, "RATE_LIMITED")
            assert response.headers["Retry-After"] == "7"
            assert response.headers["X-RateLimit-Remaining"] == "0"
            assert "X-RateLimit-Limit" in response.headers
        email, password, _key = account_credentials(0)
        login = client.post("/api/auth/login", json={"email": email, "password": password})
        fails(login, 429, "RATE_LIMITED")
    # The admin routes are not part of the API and never get faults.
    ok(httpx.get(f"{sandbox.base_url}/__sandbox/health"))
    assert _stats(sandbox)["fault_rate_limit"] == 5


def test_server_errors_answer_500_502_or_503(sandbox_factory):
    sandbox = sandbox_factory(faults=FaultConfig(server_error=1.0))
    statuses = Counter()
    with api_client(sandbox) as client:
        for _ in range(30):
            response = client.get(CHEAP)
            body = fails(response, response.status_code)
            assert body["code"] in {"INTERNAL_ERROR", "SERVICE_UNAVAILABLE"}
            statuses[response.status_code] += 1
    assert set(statuses) == {500, 502, 503}
    stats = _stats(sandbox)
    assert {s: stats[f"fault_{s}"] for s in (500, 502, 503)} == dict(statuses)


def test_drop_cuts_the_body_and_the_client_raises(sandbox_factory):
    sandbox = sandbox_factory(faults=FaultConfig(drop=1.0))
    with api_client(sandbox) as client:
        for _ in range(4):  # the same client: every request after a drop opens a new connection
            with pytest.raises(DROPPED):
                client.get("/api/projects")
    with pytest.raises(DROPPED):
        httpx.get(f"{sandbox.base_url}{CHEAP}", headers=bearer(0))
    assert _stats(sandbox)["fault_drop"] == 5
    ok(httpx.get(f"{sandbox.base_url}/__sandbox/health"))


def test_slow_answers_late_but_complete(sandbox_factory):
    sandbox = sandbox_factory(faults=FaultConfig(slow=1.0, slow_seconds=0.4))
    with api_client(sandbox) as client:
        started = time.perf_counter()
        data = ok(client.get("/api/projects"))
        elapsed = time.perf_counter() - started
        assert data["projects"]
        assert elapsed >= 0.4
        ok(client.post("/__sandbox/faults", json={}))
        started = time.perf_counter()
        ok(client.get("/api/projects"))
        assert time.perf_counter() - started < 0.3
    assert _stats(sandbox)["fault_slow"] == 1


def test_expire_session_ends_a_logged_in_session(tiny):
    with httpx.Client(base_url=tiny.base_url) as client:
        _login(client)
        ok(client.get("/api/projects"))
        ok(client.post("/__sandbox/faults", json={"expire_session": 1.0}))
        fails(client.get("/api/projects"), 401, "SESSION_EXPIRED")
        ok(client.post("/__sandbox/faults", json={}))
        # The session stays expired after the fault is turned off: the client must log in again.
        fails(client.get("/api/projects"), 401, "SESSION_EXPIRED")
        _login(client)
        ok(client.get("/api/projects"))
    assert _stats(tiny)["fault_expire_session"] == 1


def test_expire_session_from_the_start_lets_login_through(sandbox_factory):
    sandbox = sandbox_factory(faults=FaultConfig(expire_session=1.0))
    with httpx.Client(base_url=sandbox.base_url) as client:
        _login(client)
        fails(client.get("/api/projects"), 401, "SESSION_EXPIRED")


def test_mixed_rates_match_their_configured_shares(sandbox_factory):
    rates = {"rate_limit": 0.2, "server_error": 0.2, "drop": 0.1, "slow": 0.1}
    sandbox = sandbox_factory(faults=FaultConfig(**rates, slow_seconds=0.001, seed=11))
    ok(httpx.post(f"{sandbox.base_url}/__sandbox/stats/reset"))
    total, workers = 504, 8

    def run(_worker: int) -> Counter:
        with api_client(sandbox) as client:
            return Counter(_outcome(client) for _ in range(total // workers))

    with ThreadPoolExecutor(workers) as pool:
        seen = sum(pool.map(run, range(workers)), Counter())
    assert sum(seen.values()) == total
    stats = _stats(sandbox)
    assert stats["total"] == total
    observed = {
        "rate_limit": seen["429"],
        "server_error": seen["500"] + seen["502"] + seen["503"],
        "drop": seen["drop"],
        "slow": stats["fault_slow"],
    }
    assert stats["fault_rate_limit"] == observed["rate_limit"]
    assert stats["fault_500"] + stats["fault_502"] + stats["fault_503"] == observed["server_error"]
    assert stats["fault_drop"] == observed["drop"]
    # Slow answers are ordinary 200s: everything else succeeded.
    assert seen["200"] == total - observed["rate_limit"] - observed["server_error"] - seen["drop"]
    for kind, rate in rates.items():
        share = observed[kind] / total
        assert abs(share - rate) < 0.07, (kind, share, rate)


def _sequence(sandbox, count: int = 30) -> list[str]:
    """Outcomes of sequential requests, each on a fresh connection."""
    outcomes = []
    for _ in range(count):
        with httpx.Client(base_url=sandbox.base_url, headers=bearer(0)) as client:
            outcomes.append(_outcome(client))
    return outcomes


def test_the_same_fault_seed_gives_the_same_sequence(sandbox_factory):
    config = {"rate_limit": 0.25, "server_error": 0.25, "drop": 0.1}
    first = sandbox_factory(faults=FaultConfig(**config, seed=5))
    second = sandbox_factory(faults=FaultConfig(**config, seed=5))
    other = sandbox_factory(faults=FaultConfig(**config, seed=6))
    sequence = _sequence(first)
    assert len(set(sequence)) >= 4  # the sequence mixes outcomes, so equality means something
    assert _sequence(second) == sequence
    assert _sequence(other) != sequence
    # Setting the faults again restarts the seeded stream.
    ok(httpx.post(f"{first.base_url}/__sandbox/faults", json={**config, "seed": 5}))
    assert _sequence(first) == sequence


BAD_SETTINGS = [
    {"rate_limit": 1.5},
    {"server_error": -0.1},
    {"drop": 2},
    {"rate_limit": 0.6, "server_error": 0.6},
    {"rate_limit": "often"},
    {"sometimes": 0.1},
]


def test_bad_fault_settings_are_refused(tiny):
    before = ok(httpx.get(f"{tiny.base_url}/__sandbox/faults"))
    for settings in BAD_SETTINGS:
        with pytest.raises((ValueError, TypeError)):
            FaultConfig.from_dict(settings)
        response = httpx.post(f"{tiny.base_url}/__sandbox/faults", json=settings)
        fails(response, 400, "INVALID_REQUEST")
        assert ok(httpx.get(f"{tiny.base_url}/__sandbox/faults")) == before, settings


def test_good_fault_settings_are_applied(tiny):
    applied = ok(httpx.post(f"{tiny.base_url}/__sandbox/faults", json={"rate_limit": 1.0}))
    assert applied["rate_limit"] == 1.0
    assert ok(httpx.get(f"{tiny.base_url}/__sandbox/faults")) == applied
    fails(httpx.get(f"{tiny.base_url}{CHEAP}", headers=bearer(0)), 429, "RATE_LIMITED")
    ok(httpx.post(f"{tiny.base_url}/__sandbox/faults", json={}))
    ok(httpx.get(f"{tiny.base_url}{CHEAP}", headers=bearer(0)))


@pytest.mark.parametrize(
    "settings", [{"rate_limit": 1.5}, {"drop": -0.5}, {"slow": 0.7, "drop": 0.7}]
)
def test_fault_config_rejects_bad_rates_when_built_directly(settings):
    """`FaultConfig(...)` is how tests and `start_sandbox(faults=...)` build it; a rate outside
    [0, 1] must not be accepted there either."""
    with pytest.raises(ValueError):
        FaultConfig(**settings)
