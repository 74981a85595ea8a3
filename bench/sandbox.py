"""Throughput of the BuildOS sandbox over a mix of read routes, as requests/second and as a ratio
against trivial baselines measured the same way in the same run.

    .venv/bin/python bench/sandbox.py [--requests 5000] [--seconds 20] [--threads 4]

The sandbox runs in this process at the default scale; the load comes from a separate process
(so the client does not share the server's GIL): keep-alive httpx clients, one per thread, each
phase bounded by a request count and a time limit. Baselines: the sandbox's own
/__sandbox/health (the same HTTP plumbing, no route work) and a minimal standard-library
http.server answering a fixed small JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from pipeline.sandbox import SimulationOptions, start_sandbox

NOW = datetime(2026, 3, 2, tzinfo=UTC)
BUCKETS = ("backlog", "in_progress", "scheduled", "overdue", "blocked", "done")

# One request: (path, query parameters, Authorization header or None).
Call = tuple[str, dict, str | None]


@dataclass(frozen=True)
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def line(self, label: str) -> str:
        ordered = sorted(self.latencies_ms) or [0.0]
        p50 = statistics.median(ordered)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{label:<27} {self.requests:>6,} requests in {self.seconds:5.1f} s = "
            f"{self.per_second:8.1f} req/s   p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
            f"errors {self.errors}"
        )


def hammer(
    base_url: str, calls: list[Call], threads: int, max_requests: int, max_seconds: float
) -> Result:
    """Run in the client process: an untimed warm-up pass over `calls`, then `threads` keep-alive
    clients cycling through them until the request or time bound is reached."""
    clients = [httpx.Client(base_url=base_url, timeout=30) for _ in range(threads)]

    def send(client: httpx.Client, call: Call) -> int:
        path, params, auth = call
        headers = {"Authorization": auth} if auth else None
        return client.get(path, params=params, headers=headers).status_code

    def warm(index: int) -> None:
        for call in calls[index::threads]:
            send(clients[index], call)

    workers = [threading.Thread(target=warm, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    lock = threading.Lock()
    counter = itertools.count()
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    deadline = time.perf_counter() + max_seconds

    def run(index: int) -> None:
        client = clients[index]
        while time.perf_counter() < deadline:
            with lock:
                number = next(counter)
            if number >= max_requests:
                return
            started = time.perf_counter()
            try:
                status = send(client, calls[number % len(calls)])
            except httpx.HTTPError:
                status = 0
            latencies[index].append((time.perf_counter() - started) * 1000)
            errors[index] += status != 200

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    flat = [value for values in latencies for value in values]
    return Result(len(flat), sum(errors), elapsed, flat)


def route_mix(base_url: str) -> list[Call]:
    """Every read route over every live project of every account, as a pipeline sync reads them."""
    accounts = httpx.get(f"{base_url}/__sandbox/accounts").json()["data"]["accounts"]
    calls: list[Call] = []
    for account in accounts:
        auth = f"Bearer {account['api_key']}"
        listed = httpx.get(
            f"{base_url}/api/projects",
            params={"status": "active,paused,completed,cancelled", "limit": 100},
            headers={"Authorization": auth},
        ).json()["data"]["projects"]
        calls += [
            ("/api/projects", {"status": "active,paused,completed,cancelled"}, auth),
            ("/api/onto/braindumps", {"limit": 50}, auth),
            ("/api/daily-briefs/history", {"limit": 30}, auth),
            ("/api/calendar/items", {"start": "2026-02-01", "end": "2026-03-15"}, auth),
        ]
        for number, project in enumerate(listed):
            base = f"/api/onto/projects/{project['id']}"
            calls += [
                (base, {}, auth),
                (f"{base}/tasks", {"bucket": BUCKETS[number % len(BUCKETS)]}, auth),
                (f"{base}/tasks/archived", {}, auth),
                (f"{base}/logs", {"limit": 50}, auth),
                (f"{base}/events", {}, auth),
                ("/api/onto/edges", {"project_id": project["id"]}, auth),
            ]
    return calls


class _FixedJson(BaseHTTPRequestHandler):
    """The smallest keep-alive JSON server the standard library allows."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as the sandbox does, so the two are compared fairly
    body = json.dumps({"success": True, "data": {"ok": True}}).encode()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5_000, help="bound per phase")
    parser.add_argument("--seconds", type=float, default=20.0, help="bound per phase")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    started = time.perf_counter()
    sandbox = start_sandbox(SimulationOptions(now=NOW))
    generated = time.perf_counter() - started
    workspace = sandbox.app.workspace
    tasks = sum(
        1
        for account in workspace.accounts
        for children in account.children.values()
        for entity in children
        if entity.kind == "task" and entity.created_at <= workspace.now
    )
    baseline = ThreadingHTTPServer(("127.0.0.1", 0), _FixedJson)
    baseline.daemon_threads = True
    threading.Thread(target=baseline.serve_forever, daemon=True).start()
    baseline_url = f"http://127.0.0.1:{baseline.server_address[1]}"

    calls = route_mix(sandbox.base_url)
    print(
        f"sandbox: default scale ({len(workspace.accounts)} accounts, {tasks:,} tasks), "
        f"built in {generated:.1f} s, on {sandbox.base_url}"
    )
    print(
        f"client : a separate process, {args.threads} threads with keep-alive clients, "
        f"each phase bounded by {args.requests:,} requests or {args.seconds:g} s"
    )
    print(f"mix    : {len(calls)} distinct requests over every read route, cycled")
    print("sockets: TCP_NODELAY on both servers (no delayed-ACK stall between headers and body)")
    bound = (args.threads, args.requests, args.seconds)
    context = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            mix = pool.submit(hammer, sandbox.base_url, calls, *bound).result()
            health = pool.submit(
                hammer, sandbox.base_url, [("/__sandbox/health", {}, None)], *bound
            ).result()
            stdlib = pool.submit(hammer, baseline_url, [("/", {}, None)], *bound).result()
    finally:
        sandbox.stop()
        baseline.shutdown()
        baseline.server_close()
    print(mix.line("route mix"))
    print(health.line("baseline /__sandbox/health"))
    print(stdlib.line("baseline stdlib server"))
    print(f"ratio route mix / sandbox health: {mix.per_second / health.per_second:.2f}")
    print(f"ratio route mix / stdlib server : {mix.per_second / stdlib.per_second:.2f}")


if __name__ == "__main__":
    main()
