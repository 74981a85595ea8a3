"""Sync speed against its limit, in one run.

    .venv/bin/python bench/ingest.py          # about a minute

The limit is fetching exactly the requests a full sync makes (replayed from the sandbox's
request log, with the same client, concurrency and no throttle) without parsing or landing
anything: the sync can be no faster than that. The ratio `limit / full sync` says how much of
the sync's time is the API itself. A no-change incremental sync is measured too.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pipeline import warehouse
from pipeline.buildos.client import BuildOSClient, ClientSettings
from pipeline.buildos.sync import SyncOptions, sync_account
from pipeline.sandbox import SimulationOptions, start_sandbox

OPTIONS = SimulationOptions(
    seed=2,
    accounts=1,
    projects_per_account=60,
    tasks_per_project=120,
    days=120,
    horizon_days=1,
    now=datetime(2026, 3, 2, tzinfo=UTC),
)


class _Recorder(BuildOSClient):
    """A client that remembers every GET it made (path and params), to replay them."""

    calls: list[tuple[str, dict | None]] = []

    async def get(self, path: str, params: dict | None = None) -> dict:
        _Recorder.calls.append((path, params))
        return await super().get(path, params)


async def _replay(settings: ClientSettings, calls) -> float:
    started = time.perf_counter()
    async with BuildOSClient(settings) as client:
        await asyncio.gather(*[client.get(path, params) for path, params in calls])
    return time.perf_counter() - started


def main() -> None:
    with start_sandbox(OPTIONS) as server, tempfile.TemporaryDirectory() as folder:
        account = server.app.workspace.accounts[0]
        settings = ClientSettings(
            base_url=server.base_url,
            email=account.email,
            password=account.password,
            requests_per_second=0,
        )
        con = warehouse.connect(Path(folder) / "bench.duckdb")
        import pipeline.buildos.sync as sync_module

        sync_module.BuildOSClient = _Recorder  # record the requests the real sync makes
        started = time.perf_counter()
        result = asyncio.run(sync_account(settings, con, SyncOptions(full=True)))
        full_seconds = time.perf_counter() - started
        sync_module.BuildOSClient = BuildOSClient
        calls = list(_Recorder.calls)
        limit_seconds = asyncio.run(_replay(settings, calls))

        started = time.perf_counter()
        noop = asyncio.run(sync_account(settings, con, SyncOptions()))
        noop_seconds = time.perf_counter() - started
        tasks = con.execute("select count(*) from buildos.tasks").fetchall()[0][0]
        con.close()

    records = result.records_landed
    print(
        f"workspace: {len(server.app.workspace.accounts)} account, "
        f"{result.projects_seen} projects, {tasks:,} tasks; {records:,} records landed"
    )
    print(
        f"full sync          {full_seconds:6.2f} s  {result.stats['requests']:>5} requests  "
        f"{records / full_seconds:>9,.0f} records/s"
    )
    print(f"limit (fetch only) {limit_seconds:6.2f} s  {len(calls):>5} requests")
    print(f"no-change sync     {noop_seconds:6.2f} s  {noop.stats['requests']:>5} requests")
    print(
        f"ratio limit / full sync: {limit_seconds / full_seconds:.2f} "
        "(1.0 would mean parsing and landing cost nothing)"
    )


if __name__ == "__main__":
    main()
