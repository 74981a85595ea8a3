"""Where one full sync's CPU and memory go: the production shape of bench/ingest.py (each
account into its own file, side by side), profiled in this process.

    .venv/bin/python bench/ingest_profile.py --accounts 4
    .venv/bin/python bench/ingest_profile.py --accounts 1 --cprofile     # the main thread too
    .venv/bin/python bench/ingest_profile.py --accounts 4 --memory-budget 512 --tracemalloc

Prints the process's CPU seconds and those of the main thread (HTTP, decoding, parsing) and of
the merge thread (`AccountStage.merge`), the wall time of each merge statement, and memory
sampled every 0.1 s: VmRSS, the DuckDB buffers of every account's database
(`duckdb_memory()`) and Arrow's pool, at the sample with the highest RSS. With
`--tracemalloc`, the Python objects held at their peak, by line (slows the sync down).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ingest  # bench/ingest.py: the sandbox, the keys, the production shape

from pipeline import warehouse
from pipeline.buildos import landing
from pipeline.buildos.client import ClientSettings
from pipeline.buildos.sync import SyncOptions


class Probe:
    """CPU per thread, statement wall times and memory samples of one sync."""

    def __init__(self, trace: bool):
        self.merge_cpu = 0.0
        self.statements: dict[str, float] = {}
        self.cursors: list = []
        self.samples: list[tuple[float, float, float, float]] = []
        self.trace, self.peak_traced, self.snapshot = trace, 0, None
        self._stop = threading.Event()

    def install(self) -> None:
        merge, run, connect = (
            landing.AccountStage.merge,
            warehouse.run_statements,
            warehouse.connect,
        )

        def timed_merge(stage, group=None):
            started = time.thread_time()
            try:
                return merge(stage, group)
            finally:
                self.merge_cpu += time.thread_time() - started

        def timed_statements(con, statements, params=None):
            for statement in statements:
                key = " ".join(statement.split()[:4])
                started = time.perf_counter()
                run(con, [statement], params)
                self.statements[key] = self.statements.get(key, 0) + time.perf_counter() - started

        def watched_connect(path, read_only=False):
            con = connect(path, read_only=read_only)
            self.cursors.append(con.cursor())
            return con

        landing.AccountStage.merge = timed_merge
        landing.warehouse.run_statements = timed_statements
        warehouse.connect = watched_connect

    def sample(self) -> None:
        while not self._stop.wait(0.1):
            status = Path("/proc/self/status").read_text().splitlines()
            rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            duck = 0.0
            for cursor in list(self.cursors):
                try:
                    query = "select sum(memory_usage_bytes) from duckdb_memory()"
                    duck += cursor.execute(query).fetchone()[0] / 1e6
                except Exception:  # a database closed between two samples
                    pass
            self.samples.append(
                (time.perf_counter(), rss / 1024, duck, pa.total_allocated_bytes() / 1e6)
            )
            if self.trace and tracemalloc.get_traced_memory()[0] > self.peak_traced:
                self.peak_traced = tracemalloc.get_traced_memory()[0]
                self.snapshot = tracemalloc.take_snapshot()

    def start(self) -> None:
        threading.Thread(target=self.sample, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1, help="accounts (x 100 x 220)")
    parser.add_argument("--port", type=int, default=18921)
    parser.add_argument(
        "--memory-budget", type=int, help="MB, instead of SyncOptions.duckdb_memory_mb"
    )
    parser.add_argument("--cprofile", action="store_true", help="profile the main thread")
    parser.add_argument("--tracemalloc", action="store_true", help="Python objects at the peak")
    args = parser.parse_args()
    if args.tracemalloc:
        tracemalloc.start()
    server = ingest.start_sandbox(args.accounts, args.port)
    base_url = f"http://127.0.0.1:{args.port}"
    try:
        keys = ingest.account_keys(base_url, args.accounts)
        accounts = [
            (ClientSettings(base_url=base_url, api_key=k["api_key"]), k["account_id"]) for k in keys
        ]
        probe = Probe(args.tracemalloc)
        probe.install()
        profile = cProfile.Profile() if args.cprofile else None
        with tempfile.TemporaryDirectory(prefix="ingest-profile-") as folder:
            probe.start()
            cpu, started, main_cpu = ingest.cpu_seconds(), time.perf_counter(), time.thread_time()
            if profile:
                profile.enable()
            budget = {"duckdb_memory_mb": args.memory_budget} if args.memory_budget else {}
            ingest.sync_per_account(accounts, Path(folder), SyncOptions(full=True, **budget))
            if profile:
                profile.disable()
            wall, main_cpu = time.perf_counter() - started, time.thread_time() - main_cpu
            cpu = ingest.cpu_seconds() - cpu
            probe.stop()
            size = sum(p.stat().st_size for p in Path(folder).glob("*.duckdb*") if p.is_file())
        print(
            f"{args.accounts} account(s): wall {wall:.1f} s, CPU {cpu:.1f} s (main thread "
            f"{main_cpu:.1f} s, merge thread {probe.merge_cpu:.1f} s, the rest DuckDB's own "
            f"threads and the checkpoints), files {size / 1e6:.0f} MB"
        )
        at, rss, duck, arrow = max(probe.samples, key=lambda sample: sample[1])
        print(
            f"peak RSS {ingest.peak_rss_mb():,.0f} MB; at the highest sample ({at - started:.1f} s"
            f" in): RSS {rss:,.0f} MB, DuckDB buffers {duck:,.0f} MB, Arrow {arrow:,.0f} MB"
        )
        step = max(len(probe.samples) // 12, 1)
        print(
            "RSS / DuckDB buffers over the sync (MB): "
            + ", ".join(
                f"{at - started:.0f} s {rss:,.0f}/{duck:,.0f}"
                for at, rss, duck, _ in probe.samples[::step]
            )
        )
        print("merge statements, wall seconds (all accounts):")
        for key, seconds in sorted(probe.statements.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {seconds:7.2f} s  {key}")
        if probe.snapshot is not None:
            print(f"Python objects at their peak: {probe.peak_traced / 1e6:,.0f} MB, by line:")
            for stat in probe.snapshot.statistics("lineno")[:10]:
                print(f"  {stat}")
        if profile:
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
