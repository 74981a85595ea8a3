"""What a sync asks the API for: one project's rows (bundle, deleted tasks, edges, logs,
events), and the account-level lists (brain dumps, daily briefs). No DuckDB here."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.buildos.client import BuildOSClient, BuildOSError, Pager

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
    if not isinstance(bundle.get("project"), dict):
        # `data: null` (or a bundle without its project) is no evidence that anything is
        # gone: the project fails this sync and keeps what it has.
        raise BuildOSError(f"GET {base}: the bundle has no project (data: null?)", status=200)
    malformed = [key for key in BUNDLE_KEYS if not isinstance(bundle.get(key), list)]
    if malformed:
        # A missing or non-list child list would read as "all of them removed": refuse it.
        raise BuildOSError(
            f"GET {base}: the bundle's {', '.join(malformed)} is not a list", status=200
        )
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
        edges=edges.get("edges") if isinstance(edges.get("edges"), list) else [],
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
        events = data.get("events")
        events = events if isinstance(events, list) else []
        if len(events) < EVENTS_LIMIT or hi - lo < timedelta(hours=1):
            return events
        middle = lo + (hi - lo) / 2
        left, right = await asyncio.gather(window(lo, middle), window(middle, hi))
        merged = {_event_key(e): e for e in left + right}
        return list(merged.values())

    return await window(around - span, around + span)


def _event_key(event) -> str:
    value = event.get("id") if isinstance(event, dict) else None
    return value if isinstance(value, str) else repr(event)


async def list_braindumps(client: BuildOSClient, cutoff: datetime | None) -> list[dict]:
    """Brain dumps, newest first, down to `cutoff` (None: all of them)."""
    path = "/api/onto/braindumps"
    pager = Pager(client, path)
    offset = 0
    while True:
        data = await client.get(path, {"limit": 100, "offset": offset})
        page = data.get("braindumps")
        page = page if isinstance(page, list) else []
        if not pager.take(page, offset) or not data.get("hasMore"):
            return pager.items
        oldest = page[-1].get("created_at") if isinstance(page[-1], dict) else None
        if cutoff is not None and _before(oldest, cutoff):
            return pager.items
        offset += len(page)


def _before(stamp, cutoff: datetime) -> bool:
    try:
        return isinstance(stamp, str) and parse_timestamp(stamp) < cutoff
    except ValueError:
        return False


def parse_timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
