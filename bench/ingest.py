"""Full-sync speed against its peers, in one run with interleaved repeats.

    .venv/bin/pip install -e '.[bench]'        # dlt, for this benchmark only
    .venv/bin/python bench/ingest.py           # 1 account x 100 x 220 (3 repeats), ~4 minutes
    .venv/bin/python bench/ingest.py --scale 10 --repeats 1    # 10 accounts, ~20 minutes

Systems, each in a fresh process (so its peak RSS is its own) against one sandbox served from
another process (so no system shares the server's GIL), every one authenticated with the
accounts' Bearer keys:

- ours: the production shape with the shipped defaults: each account's full sync
  (`sync_account`) into its own new DuckDB file, `account_concurrency` accounts at once under
  one shared `DeploymentGate`; peak RSS is the process's, file size the sum of the files;
- ours-shared-file (only with `--systems`): every account into one file through `run_sync`;
- dlt `rest_api` with the Parquet loader, and with its default loader (insert_values), reading
  the same routes with the same paging into a new DuckDB file, 8 extract workers;
- the raw crawl: the exact requests our sync made (recorded by the run before it), fetched
  with httpx and decoded with orjson, landing nothing, with our sync's in-flight limits.

Records/s = rows landed in the entity tables (the same 12 entities for every system) / wall
time; CPU = the process's user + system seconds; the script checks that every system landed
the same counts. It also runs a no-change sync after ours and prints its requests and rows
landed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-03-02T00:00:00+00:00"
# "ours-shared-file" (every account into one file) is there to compare with, on request.
SYSTEMS = ("ours", "dlt-parquet", "dlt-insert-values", "crawl")
OURS = ("ours", "ours-shared-file")
ENTITIES = (
    "projects",
    "tasks",
    "goals",
    "plans",
    "milestones",
    "documents",
    "edges",
    "logs",
    "braindumps",
    "briefs",
    "events",
    "calendar_items",
)
# dlt's table(s) for each entity: the bundle is one row per project with its children as
# nested lists (child tables); deeper child tables (assignees, topics) are not entity rows.
DLT_TABLES = {
    "projects": ["bundles"],
    "tasks": ["bundles__tasks", "archived_tasks"],
    "goals": ["bundles__goals"],
    "plans": ["bundles__plans"],
    "milestones": ["bundles__milestones"],
    "documents": ["bundles__documents"],
    "edges": ["edges"],
    "logs": ["logs"],
    "braindumps": ["braindumps"],
    "briefs": ["briefs"],
    "events": ["events"],
    "calendar_items": ["calendar_items"],
}


# -- the sandbox ---------------------------------------------------------------------------


def start_sandbox(accounts: int, port: int) -> subprocess.Popen:
    command = [
        *(sys.executable, "-m", "pipeline", "sandbox", "serve", "--port", str(port)),
        *("--seed", "1", "--accounts", str(accounts), "--projects", "100", "--tasks", "220"),
        *("--days", "120", "--horizon-days", "1", "--now", NOW),
    ]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()  # printed once the workspace is built and served
    if "BuildOS sandbox on" not in line:
        server.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return server


def account_keys(base_url: str, accounts: int) -> list[dict]:
    """Every account's Bearer key and id (the API has no route that names a key's account,
    so log in once per account, outside any timing)."""
    from pipeline.sandbox import account_credentials

    keys = []
    for index in range(accounts):
        email, password, key = account_credentials(index)
        answer = httpx.post(
            f"{base_url}/api/auth/login", json={"email": email, "password": password}
        ).json()
        keys.append({"api_key": key, "account_id": answer["data"]["user"]["id"]})
    return keys


# -- one system, in its own process --------------------------------------------------------


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def file_mb(path: Path) -> float:
    sizes = [p.stat().st_size for p in (path, Path(f"{path}.wal")) if p.exists()]
    return sum(sizes) / 1e6


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sync_per_account(accounts: list, folder: Path, options) -> list:
    """The production shape: each account in its own DuckDB file, `account_concurrency`
    accounts at once under one shared DeploymentGate, no merge lock shared across files (what
    the partitioned asset does with `sync_account`)."""
    import dataclasses

    from pipeline import warehouse
    from pipeline.buildos.politeness import DeploymentGate, DeploymentLimits
    from pipeline.buildos.sync import sync_account

    async def all_accounts() -> list:
        gate = DeploymentGate(DeploymentLimits())
        slots = asyncio.Semaphore(options.account_concurrency)
        at_once = min(options.account_concurrency, len(accounts))  # share the memory budget

        async def one(index: int, settings, account_id: str):
            async with slots:
                con = warehouse.connect(folder / f"ours-{index}.duckdb")
                try:
                    own = dataclasses.replace(options, account_id=account_id)
                    return await sync_account(
                        settings, con, own, gate=gate, databases_at_once=at_once
                    )
                finally:
                    con.close()

        return await asyncio.gather(
            *[one(i, settings, account_id) for i, (settings, account_id) in enumerate(accounts)]
        )

    return asyncio.run(all_accounts())


def run_ours(base_url: str, keys: list[dict], folder: Path, shape: str) -> dict:
    """Our full sync, then a no-change sync. `shape` "per-account": one file per account
    (production); "shared-file": every account into one file through `run_sync`."""
    from pipeline import warehouse
    from pipeline.buildos import client as client_module
    from pipeline.buildos.accounts import run_sync
    from pipeline.buildos.client import ClientSettings
    from pipeline.buildos.sync import SyncOptions

    calls: list = []
    original_get = client_module.BuildOSClient.get

    async def recording_get(self, path, params=None):  # the crawl replays these
        calls.append((self.settings.api_key, path, params))
        return await original_get(self, path, params)

    client_module.BuildOSClient.get = recording_get
    shared = None
    accounts = [
        (ClientSettings(base_url=base_url, api_key=k["api_key"]), k["account_id"]) for k in keys
    ]
    if shape == "per-account":
        files = [folder / f"ours-{i}.duckdb" for i in range(len(accounts))]

        def sync(options):
            return sync_per_account(accounts, folder, options)
    else:
        files = [folder / "ours.duckdb"]
        shared = warehouse.connect(files[0])

        def sync(options):
            return run_sync(accounts, shared, options)

    cpu, started = cpu_seconds(), time.perf_counter()
    results = sync(SyncOptions(full=True))
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    peak = peak_rss_mb()
    client_module.BuildOSClient.get = original_get
    rows = dict.fromkeys(ENTITIES, 0)
    for path in files:
        con = shared or warehouse.connect(path, read_only=True)
        for name in ENTITIES:
            rows[name] += con.execute(f"select count(*) from buildos.{name}").fetchone()[0]
        if con is not shared:
            con.close()
    (folder / "calls.json").write_bytes(orjson.dumps(calls))
    per_account = [r.stats["duration_seconds"] for r in results]
    noop = sync(SyncOptions())
    if shared is not None:
        shared.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak,
        "file_mb": sum(file_mb(path) for path in files),
        "rows": rows,
        "requests": sum(r.stats["requests"] for r in results),
        "account_seconds": per_account,
        "noop_requests": sum(r.stats["requests"] for r in noop),
        "noop_rows_landed": sum(r.records_landed for r in noop),
        "noop_modes": sorted({r.mode for r in noop}),
        "projects": sum(r.projects_seen for r in results),
    }


def dlt_source(base_url: str, api_key: str):
    from datetime import datetime, timedelta

    from dlt.sources.rest_api import rest_api_source

    now = datetime.fromisoformat(NOW)
    project = "{resources.project_list.id}"

    def offset(limit: int) -> dict:
        return {
            "type": "offset",
            "limit": limit,
            "total_path": None,
            "has_more_path": "data.hasMore",
        }

    def child(name: str, path: str, selector: str, paginator="single_page", **params) -> dict:
        return {
            "name": name,
            "endpoint": {
                "path": path.replace("{project_id}", project),
                "params": params,
                "data_selector": selector,
                "paginator": paginator,
            },
        }

    window = {"timeMin": (now - timedelta(days=3 * 365)).isoformat()}
    window |= {"timeMax": (now + timedelta(days=3 * 365)).isoformat(), "limit": 1000}
    calendar = {"start": (now - timedelta(days=400)).isoformat()}
    calendar["end"] = (now + timedelta(days=400)).isoformat()
    return rest_api_source(
        {
            "client": {"base_url": base_url, "auth": {"type": "bearer", "token": api_key}},
            "resource_defaults": {"write_disposition": "append"},
            "resources": [
                {
                    "name": "project_list",
                    "selected": False,
                    "endpoint": {
                        "path": "api/projects",
                        "params": {"status": "active,paused,completed,cancelled", "limit": 100},
                        "data_selector": "data.projects",
                        "paginator": {
                            "type": "page_number",
                            "base_page": 1,
                            "total_path": None,
                            "stop_after_empty_page": True,
                        },
                    },
                },
                child("bundles", "api/onto/projects/{project_id}", "data"),
                child(
                    "archived_tasks",
                    "api/onto/projects/{project_id}/tasks/archived",
                    "data.tasks",
                    offset(200),
                ),
                child("edges", "api/onto/edges", "data.edges", project_id=project),
                child("logs", "api/onto/projects/{project_id}/logs", "data.logs", offset(50)),
                child("events", "api/onto/projects/{project_id}/events", "data.events", **window),
                {
                    "name": "braindump_list",
                    "selected": False,
                    "endpoint": {
                        "path": "api/onto/braindumps",
                        "data_selector": "data.braindumps",
                        "paginator": offset(100),
                    },
                },
                {
                    "name": "braindumps",
                    "endpoint": {
                        "path": "api/onto/braindumps/{resources.braindump_list.id}",
                        "data_selector": "data.braindump",
                        "paginator": "single_page",
                    },
                },
                {
                    "name": "briefs",
                    "endpoint": {
                        "path": "api/daily-briefs/history",
                        "params": {"limit": 100},
                        "data_selector": "data.briefs",
                        "paginator": {
                            "type": "page_number",
                            "base_page": 1,
                            "total_path": None,
                            "has_more_path": "data.pagination.hasNext",
                        },
                    },
                },
                {
                    "name": "calendar_items",
                    "endpoint": {
                        "path": "api/calendar/items",
                        "params": calendar,
                        "data_selector": "data.items",
                        "paginator": "single_page",
                    },
                },
            ],
        },
        parallelized=True,
    )


def run_dlt(base_url: str, keys: list[dict], folder: Path, file_format: str | None) -> dict:
    os.environ["EXTRACT__WORKERS"] = "8"  # 8 requests in flight, as for the others
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    os.environ["DLT_DATA_DIR"] = str(folder / "dlt-data")
    os.environ["DLT_PROJECT_DIR"] = str(folder)
    import dlt

    db = folder / "dlt.duckdb"
    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{file_format or 'default'}",
        pipelines_dir=str(folder / "dlt-pipelines"),
        destination=dlt.destinations.duckdb(str(db)),
        dataset_name="buildos",
    )
    cpu, started = cpu_seconds(), time.perf_counter()
    for key in keys:  # one source per account (each has its own key)
        source = dlt_source(base_url, key["api_key"])
        if file_format:
            pipeline.run(source, loader_file_format=file_format)
        else:
            pipeline.run(source)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu
    peak = peak_rss_mb()
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    rows = {
        name: sum(con.execute(f"select count(*) from buildos.{t}").fetchone()[0] for t in tables)
        for name, tables in DLT_TABLES.items()
    }
    con.close()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_mb": peak,
        "file_mb": file_mb(db),
        "rows": rows,
    }


def run_crawl(base_url: str, keys: list[dict], folder: Path) -> dict:
    """The recorded requests of our last sync, with our in-flight limits, decoded, not kept."""
    from pipeline.buildos.client import ClientSettings
    from pipeline.buildos.politeness import DeploymentLimits
    from pipeline.buildos.sync import SyncOptions

    calls = orjson.loads((folder / "calls.json").read_bytes())
    by_key: dict[str, list] = {}
    for api_key, path, params in calls:
        by_key.setdefault(api_key, []).append((path, params))
    per_account = ClientSettings.max_concurrency
    deployment = asyncio.Semaphore(DeploymentLimits.max_in_flight)
    accounts_at_once = asyncio.Semaphore(SyncOptions.account_concurrency)
    decoded = 0

    async def account(api_key: str, requests: list) -> None:
        nonlocal decoded
        limits = httpx.Limits(max_connections=per_account, max_keepalive_connections=per_account)
        headers = {"Authorization": f"Bearer {api_key}"}
        async with (
            accounts_at_once,
            httpx.AsyncClient(
                base_url=base_url, headers=headers, limits=limits, timeout=60
            ) as client,
        ):
            slots = asyncio.Semaphore(per_account)

            async def one(path: str, params: dict | None) -> None:
                nonlocal decoded
                async with slots, deployment:
                    response = await client.get(path, params=params)
                body = orjson.loads(response.content)
                assert body["success"], (path, response.status_code)
                decoded += 1

            await asyncio.gather(*[one(path, params) for path, params in requests])

    async def crawl() -> None:
        await asyncio.gather(*[account(k, r) for k, r in by_key.items()])

    cpu, started = cpu_seconds(), time.perf_counter()
    asyncio.run(crawl())
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds() - cpu,
        "peak_mb": peak_rss_mb(),
        "requests": decoded,
    }


def child_main(system: str, base_url: str, keys_json: str, folder: str) -> None:
    keys, work = json.loads(keys_json), Path(folder)
    if system == "ours":
        out = run_ours(base_url, keys, work, "per-account")
    elif system == "ours-shared-file":
        out = run_ours(base_url, keys, work, "shared-file")
    elif system == "dlt-parquet":
        out = run_dlt(base_url, keys, work, "parquet")
    elif system == "dlt-insert-values":
        out = run_dlt(base_url, keys, work, None)
    else:
        out = run_crawl(base_url, keys, work)
    print(json.dumps(out))


def run_in_process(system: str, base_url: str, keys: list[dict], shared: Path) -> dict:
    with tempfile.TemporaryDirectory(dir=shared) as own:
        # The crawl reads the request log that the last run of ours left in `shared`.
        folder = shared if system in (*OURS, "crawl") else Path(own)
        if system in OURS:
            for leftover in shared.glob("ours*.duckdb*"):
                leftover.unlink()
        done = subprocess.run(
            [sys.executable, __file__, "--child", system, base_url, json.dumps(keys), str(folder)],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{system} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])


# -- the report ----------------------------------------------------------------------------


def report(scale: int, runs: dict[str, list[dict]]) -> None:
    median = {s: statistics.median(r["seconds"] for r in runs[s]) for s in runs}
    lead = next(s for s in runs if s in OURS)  # the ratios are of the first of ours
    ours = runs[lead][0]
    records = sum(ours["rows"].values())
    print(
        f"\n## {scale} account(s) x 100 projects x 220 tasks: {ours['rows']['tasks']:,} tasks, "
        f"{records:,} records, {ours['requests']:,} requests; "
        f"{len(runs[lead])} interleaved repeat(s), median wall time"
    )
    print("\n| system | wall | records/s | CPU | peak RSS | DuckDB file(s) | all runs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for system, results in runs.items():
        peak = max(r["peak_mb"] for r in results)
        size = f"{results[0]['file_mb']:,.0f} MB" if "file_mb" in results[0] else "-"
        cpu = statistics.median(r["cpu_seconds"] for r in results)
        every = ", ".join(f"{r['seconds']:.1f}" for r in results)
        print(
            f"| {system} | {median[system]:.1f} s | {records / median[system]:,.0f} | "
            f"{cpu:.1f} s | {peak:,.0f} MB | {size} | {every} |"
        )
    print(f"\nratios ({lead}, median wall time):")
    for peer in ("ours-shared-file", "dlt-parquet", "dlt-insert-values"):
        if peer in median and peer != lead:
            print(f"  {lead} is {median[peer] / median[lead]:.2f}x faster than {peer}")
            if "file_mb" in runs[peer][0]:
                size = ours["file_mb"] / runs[peer][0]["file_mb"]
                print(f"  file size {lead} / {peer}: {size:.2f}")
    if "crawl" in median:
        print(f"  {lead} / raw crawl speed: {median['crawl'] / median[lead]:.2f}")
    seconds = ours["account_seconds"]
    print(
        f"  per-account sync time: first {seconds[0]:.1f} s, last {seconds[-1]:.1f} s "
        f"(last / first {seconds[-1] / seconds[0]:.2f})"
    )
    print(
        f"no-change sync: {ours['noop_requests']} requests for {ours['projects']} projects "
        f"({ours['noop_requests'] - ours['projects']} account-level), "
        f"{ours['noop_rows_landed']} rows landed, modes {ours['noop_modes']}"
    )
    if "crawl" in runs:
        print(f"crawl requests: {runs['crawl'][0]['requests']:,} (ours: {ours['requests']:,})")
    print("row counts per entity (every system must land the same):")
    for system, results in runs.items():
        if "rows" in results[0]:
            same = all(r["rows"] == ours["rows"] for r in results)
            print(f"  {system:<18} {'equal' if same else 'DIFFERENT'} {results[0]['rows']}")
    if any(r["rows"] != ours["rows"] for s in runs for r in runs[s] if "rows" in r):
        raise SystemExit("row counts differ between systems: the comparison is not fair")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=1, help="accounts (x 100 x 220)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--port", type=int, default=18911)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    args = parser.parse_args()
    systems = args.systems.split(",")
    assert systems[0] in OURS or "crawl" not in systems, "the crawl replays ours"
    server = start_sandbox(args.scale, args.port)
    base_url = f"http://127.0.0.1:{args.port}"
    try:
        keys = account_keys(base_url, args.scale)
        runs: dict[str, list[dict]] = {s: [] for s in systems}
        with tempfile.TemporaryDirectory(prefix="bench-ingest-") as shared:
            for repeat in range(args.repeats):
                for system in systems:  # interleaved: every system once per repeat
                    result = run_in_process(system, base_url, keys, Path(shared))
                    runs[system].append(result)
                    print(f"repeat {repeat + 1} {system}: {result['seconds']:.1f} s", flush=True)
        report(args.scale, runs)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_main(*sys.argv[2:6])
    else:
        main()
