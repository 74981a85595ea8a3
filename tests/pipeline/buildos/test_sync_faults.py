"""A sync against a misbehaving server (5xx, 429, dropped connections, expired sessions) lands
exactly what a clean one does, records its retries, and a server that only fails trips the
circuit breaker without touching what was already loaded."""

from __future__ import annotations

import asyncio

import pytest

from pipeline import warehouse
from pipeline.buildos.client import CircuitOpenError
from pipeline.buildos.sync import SyncOptions, sync_account
from pipeline.sandbox import FaultConfig
from tests.pipeline.buildos.sync_helpers import (
    all_tables,
    assert_same_tables,
    key_settings,
    rows,
    settings,
    simulation,
    sync_all,
)

FAULTS = FaultConfig(
    server_error=0.10, rate_limit=0.05, drop=0.03, expire_session=0.02, retry_after=0, seed=11
)
RETRY_COLUMNS = (
    "retries_server_error",
    "retries_rate_limited",
    "retries_connection",
    "retries_session",
    "logins",
)


def _retries(db) -> dict[str, int]:
    columns = ", ".join(f"sum({c})" for c in RETRY_COLUMNS)
    [totals] = rows(db, f"select {columns} from meta.sync_runs where status = 'succeeded'")
    return dict(zip(RETRY_COLUMNS, totals, strict=True))


def test_a_sync_through_faults_lands_the_same_tables_as_a_clean_one(sandbox_factory, tmp_path):
    server = sandbox_factory(simulation(2))
    clean, faulty = tmp_path / "clean.duckdb", tmp_path / "faulty.duckdb"
    sync_all(server, clean, full=True)

    server.app.faults.configure(FAULTS)
    sync_all(server, faulty, full=True)

    assert_same_tables(all_tables(faulty), all_tables(clean))
    # Every injected fault cost exactly one retry of its kind, and each was recorded.
    injected = server.app.stats
    retries = _retries(faulty)
    assert retries["retries_server_error"] == sum(injected[f"fault_{s}"] for s in (500, 502, 503))
    assert retries["retries_rate_limited"] == injected["fault_rate_limit"]
    assert retries["retries_connection"] == injected["fault_drop"]
    # Concurrent requests on an expired session each see the 401; one login serves them all.
    assert retries["retries_session"] >= injected["fault_expire_session"]
    assert retries["logins"] > len(server.app.workspace.accounts)
    for column in RETRY_COLUMNS:
        assert retries[column] > 0, retries
    assert _retries(clean) == dict.fromkeys(RETRY_COLUMNS[:-1], 0) | {"logins": 2}


@pytest.mark.parametrize("auth", ["session", "api_key"])
def test_a_failing_server_opens_the_circuit_and_keeps_what_was_loaded(
    sandbox_factory, tmp_path, auth
):
    server = sandbox_factory(simulation(1, accounts=1))
    db = tmp_path / "w.duckdb"
    sync_all(server, db, full=True)
    before = all_tables(db)
    runs_before = rows(db, "select sync_id, status from meta.sync_runs")

    server.app.faults.configure(FaultConfig(server_error=1.0, seed=3))
    # The breaker counts failures across requests; below the per-request attempts (10 here)
    # so that it, not the first request's own retry limit, is what stops the run.
    if auth == "session":
        client = settings(server.base_url, breaker_threshold=5)
        options = SyncOptions()
    else:
        client = key_settings(server.base_url, breaker_threshold=5)
        options = SyncOptions(account_id=server.app.workspace.accounts[0].id)
    con = warehouse.connect(db)
    try:
        with pytest.raises(CircuitOpenError) as raised:
            asyncio.run(sync_account(client, con, options))
    finally:
        con.close()

    message = str(raised.value)
    assert server.base_url in message
    assert "failed 5 times in a row" in message
    assert "HTTP 50" in message  # the last failure, with its status
    assert "Nothing already loaded is lost" in message
    assert_same_tables(all_tables(db), before)
    runs = rows(db, "select sync_id, status, error, account_id from meta.sync_runs")
    # The failed run is recorded either way; a failed login does not know the account yet.
    [failed] = [r for r in runs if (r[0], r[1]) not in runs_before]
    assert failed[1] == "failed"
    assert failed[2].startswith("CircuitOpenError: ")
    if auth == "session":
        assert failed[3] is None
    else:
        assert failed[3] == server.app.workspace.accounts[0].id
