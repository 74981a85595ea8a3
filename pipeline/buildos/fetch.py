"""What a sync asks the API for: one project's rows (bundle, deleted tasks, edges, logs,
events), and the account-level lists (brain dumps, daily briefs). No DuckDB here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.buildos.client import BuildOSClient, BuildOSError

ALL_STATUSES = "active,paused,completed,cancelled"
EVENTS_LIMIT = 1000
# The children a bundle carries, each under its own key.
BUNDLE_KEYS = ("tasks", "goals", "plans", "milestones", "documents")


@dataclass
class Fetched:
    """One refetched project: its rows as the API gave them."""

    listed: dict
    bundle: dict | None  # None: the project answered 404 (deleted since it was listed)
    archived: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


async def fetch_project(
    client: BuildOSClient, project: dict, stop_ids: set[str] | None, server_now: datetime
) -> Fetched:
    project_id = project["id"]
    base = f"/api/onto/projects/{project_id}"
    try:
        bundle = await client.get(base)
    except BuildOSError as error:
        if error.status == 404:
            return Fetched(listed=project, bundle=None)
        raise
    archived, edges, logs, events = await asyncio.gather(
        client.get_offset_pages(f"{base}/tasks/archived", "tasks", limit=200),
        client.get("/api/onto/edges", {"project_id": project_id}),
        client.get_offset_pages(f"{base}/logs", "logs", limit=50, stop_at_ids=stop_ids),
        fetch_events(client, base, server_now),
    )
    return Fetched(
        listed=project,
        bundle=bundle,
        archived=archived,
        edges=edges.get("edges") or [],
        logs=logs,
        events=events,
    )


async def fetch_events(
    client: BuildOSClient, base: str, around: datetime, span: timedelta = timedelta(days=3 * 365)
) -> list[dict]:
    """The events route has no paging, only a window and a limit: split a full window."""

    async def window(lo: datetime, hi: datetime) -> list[dict]:
        data = await client.get(
            f"{base}/events",
            {"timeMin": lo.isoformat(), "timeMax": hi.isoformat(), "limit": EVENTS_LIMIT},
        )
        events = data.get("events") or []
        if len(events) < EVENTS_LIMIT or hi - lo < timedelta(hours=1):
            return events
        middle = lo + (hi - lo) / 2
        left, right = await asyncio.gather(window(lo, middle), window(middle, hi))
        merged = {e.get("id"): e for e in left + right}
        return list(merged.values())

    return await window(around - span, around + span)


async def list_braindumps(client: BuildOSClient, cutoff: datetime | None) -> list[dict]:
    """Brain dumps, newest first, down to `cutoff` (None: all of them)."""
    listed: list[dict] = []
    offset = 0
    while True:
        data = await client.get("/api/onto/braindumps", {"limit": 100, "offset": offset})
        page = data.get("braindumps") or []
        listed.extend(page)
        oldest = page[-1].get("created_at") if page else None
        if not data.get("hasMore") or not page:
            return listed
        if cutoff is not None and oldest and parse_timestamp(oldest) < cutoff:
            return listed
        offset += len(page)


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
