"""What a sync asks the API for: one project's rows (bundle, deleted tasks, edges, logs,
events), and the account-level lists (brain dumps, daily briefs). No DuckDB here."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pipeline.buildos.client import BuildOSClient, BuildOSError, Pager

ALL_STATUSES = "active,paused,completed,cancelled"
EVENTS_LIMIT = 1000
# The children a bundle carries, each under its own key.
BUNDLE_KEYS = ("tasks", "goals", "plans", "milestones", "documents")


# Where a project's answers go as they arrive: (part, records), part being "project", one of
# BUNDLE_KEYS, "archived", "edges", "events" or "logs" (one call per page of a paged route).
Sink = Callable[[str, list], None]


@dataclass
class Fetched:
    """One refetched project: whether it was still there. Its rows went to the sink."""

    listed: dict
    found: bool  # False: the project answered 404 (deleted since it was listed)


async def fetch_project(
    client: BuildOSClient,
    project: dict,
    stop_ids: set[str] | None,
    server_now: datetime,
    sink: Sink,
) -> Fetched:
    """Fetch one project, handing each answer (each page of the paged routes) to `sink` as it
    arrives, so no decoded answer waits for the rest of the project. If this raises, the
    sink has been given part of the project: the caller drops what it parsed."""
    project_id = project["id"]
    base = f"/api/onto/projects/{project_id}"
    try:
        bundle = await client.get(base)
    except BuildOSError as error:
        if error.status == 404:
            return Fetched(listed=project, found=False)
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
    sink("project", [bundle["project"]])
    for key in BUNDLE_KEYS:
        sink(key, bundle[key])
    del bundle

    async def edges() -> None:
        answer = await client.get("/api/onto/edges", {"project_id": project_id})
        sink("edges", answer.get("edges") if isinstance(answer.get("edges"), list) else [])

    async def events() -> None:
        sink("events", await fetch_events(client, base, server_now))

    await asyncio.gather(
        client.get_offset_pages(
            f"{base}/tasks/archived",
            "tasks",
            limit=200,
            on_page=lambda page: sink("archived", page),
        ),
        edges(),
        client.get_offset_pages(
            f"{base}/logs",
            "logs",
            limit=50,
            stop_at_ids=stop_ids,
            on_page=lambda page: sink("logs", page),
        ),
        events(),
    )
    return Fetched(listed=project, found=True)


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
