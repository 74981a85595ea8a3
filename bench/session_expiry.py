"""Session-expiry traffic: the 401s a full sync pays when sessions expire under it.

    .venv/bin/python bench/session_expiry.py                  # 2 accounts x 100 x 220, ~2 min
    .venv/bin/python bench/session_expiry.py --accounts 3 --rate 0.01

Every account logs in with email and password (no Bearer keys) and syncs into its own DuckDB
file, accounts at once under one DeploymentGate (the production shape, as in ingest.py),
against a sandbox (in this process) whose only fault is `expire_session` at `--rate` of the
requests. The request that meets the expiry is answered 401 whatever the client does; every
other 401 is extra: a request that went out on a session already known to be gone. Prints
the expiries, the extra 401s and their share of all requests, and the logins per expiry (one
is the floor: each expiry needs one re-login).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from ingest import sync_per_account

from pipeline.buildos.client import ClientSettings
from pipeline.buildos.sync import SyncOptions
from pipeline.sandbox import FaultConfig, SimulationOptions, account_credentials, start_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--projects", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=220)
    parser.add_argument("--rate", type=float, default=0.01, help="expire_session fault rate")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    simulation = SimulationOptions(
        seed=args.seed,
        accounts=args.accounts,
        projects_per_account=args.projects,
        tasks_per_project=args.tasks,
        days=120,
        horizon_days=1,
        now=datetime(2026, 3, 2, tzinfo=UTC),
    )
    server = start_sandbox(simulation, faults=FaultConfig(expire_session=args.rate, seed=7))
    try:
        accounts = []
        for index in range(args.accounts):
            email, password, _key = account_credentials(index)
            login = ClientSettings(base_url=server.base_url, email=email, password=password)
            accounts.append((login, None))
        with tempfile.TemporaryDirectory(prefix="bench-expiry-") as folder:
            started = time.perf_counter()
            results = sync_per_account(accounts, Path(folder), SyncOptions(full=True))
            seconds = time.perf_counter() - started
    finally:
        server.stop()
    expiries = server.app.stats["fault_expire_session"]
    requests = sum(r.stats["requests"] for r in results)
    unauthorized = sum(r.stats["retries_session"] for r in results)
    relogins = sum(r.stats["logins"] for r in results) - args.accounts
    extra = unauthorized - expiries
    print(
        f"{args.accounts} account(s) x {args.projects} x {args.tasks}, expire_session "
        f"{args.rate:g}: {requests:,} requests in {seconds:.0f} s, {expiries} expiries"
    )
    print(f"  401 answers: {unauthorized:,} ({expiries} expiries + {extra:,} extra)")
    per_expiry = max(expiries, 1)
    share = extra / requests
    print(f"  extra 401s: {share:.1%} of all requests, {extra / per_expiry:.1f} per expiry")
    print(f"  re-logins: {relogins} ({relogins / per_expiry:.2f} per expiry)")
    print(f"  statuses: {sorted({r.status for r in results})}")


if __name__ == "__main__":
    main()
