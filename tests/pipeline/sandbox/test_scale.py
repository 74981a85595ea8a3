"""Scale: the simulator builds a 200,000-task workspace, and the server answers over it."""

from __future__ import annotations

import time

import httpx
import pytest

from pipeline.sandbox import SandboxApp, SandboxServer, SimulationOptions, generate_workspace
from tests.pipeline.sandbox.sandbox_helpers import NOW, ok

LARGE = SimulationOptions(
    accounts=10,
    projects_per_account=100,
    tasks_per_project=220,
    days=120,
    horizon_days=7,
    now=NOW,
)


@pytest.mark.slow
def test_the_simulator_reaches_200k_tasks(record_property):
    started = time.perf_counter()
    workspace = generate_workspace(LARGE)
    generated = time.perf_counter() - started
    tasks = sum(
        1
        for account in workspace.accounts
        for children in account.children.values()
        for entity in children
        if entity.kind == "task" and entity.created_at <= workspace.now
    )
    record_property("generate_seconds", round(generated, 1))
    record_property("tasks_by_now", tasks)
    print(f"\ngenerated {tasks:,} tasks (created by now) in {generated:.1f} s")

    server = SandboxServer(SandboxApp(workspace)).start()
    try:
        headers = {"Authorization": "Bearer boca_sandbox_user10"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            listed = ok(
                client.get(
                    "/api/projects",
                    params={"status": "active,paused,completed,cancelled", "limit": 100},
                )
            )
            assert listed["total"] >= 90
            bundle = ok(client.get(f"/api/onto/projects/{listed['projects'][0]['id']}"))
            assert bundle["project"]["id"] == listed["projects"][0]["id"]
    finally:
        server.stop()
    assert tasks >= 200_000, f"only {tasks:,} tasks created by now"
