"""`python -m pipeline sync` against a sandbox: the same assets, run from the command line."""

from __future__ import annotations

import os
import subprocess
import sys

import orjson

from pipeline.paths import PROJECT_ROOT
from pipeline.sandbox import account_credentials
from tests.accounts import account_rows, the_account_file
from tests.pipeline.buildos.sync_helpers import rows, simulation


def test_the_sync_command_lands_the_data_and_prints_the_duckdb_path(sandbox_factory, tmp_path):
    server = sandbox_factory(simulation(1, accounts=1))
    db = tmp_path / "cli.duckdb"

    done = subprocess.run(
        [
            *(sys.executable, "-m", "pipeline", "sync", "--base-url", server.base_url),
            *("--email", "demo@sandbox.local", "--password", "sandbox", "--db", str(db), "--full"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert f"DuckDB file: {db.resolve()}" in done.stdout
    assert "buildos/tasks" in done.stdout
    [(tasks,)] = rows(the_account_file(db), "select count(*) from buildos.tasks")
    assert tasks > 0
    assert account_rows(db, "select mode, status from meta.sync_runs") == [("full", "succeeded")]


def test_the_sync_command_syncs_every_account_of_buildos_accounts(sandbox_factory, tmp_path):
    server = sandbox_factory(simulation(4, accounts=3))
    db = tmp_path / "accounts.duckdb"
    credentials = [account_credentials(index) for index in range(3)]
    # Two log in with a password, one with a Bearer key and its account id.
    accounts = [{"email": email, "password": password} for email, password, _ in credentials[:2]]
    accounts.append(
        {"api_key": credentials[2][2], "account_id": server.app.workspace.accounts[2].id}
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BUILDOS_")},
        "BUILDOS_BASE_URL": server.base_url,
        "BUILDOS_ACCOUNTS": orjson.dumps(accounts).decode(),
        "BUILDOS_ANALYTICS_DB": str(db),
    }

    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "sync"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "sync: 3 account(s)" in done.stdout
    expected = sorted(a.id for a in server.app.workspace.accounts)
    runs = account_rows(db, "select account_id, mode, status from meta.sync_runs")
    assert runs == [(account_id, "full", "succeeded") for account_id in expected]
    landed = account_rows(db, "select account_id, count(*) from buildos.tasks group by all")
    assert [account_id for account_id, _ in landed] == expected
    assert all(count > 0 for _, count in landed)
    assert credentials[2][2] not in done.stdout + done.stderr  # the key (test_secrets: more)
