"""A sync: pull what changed in one BuildOS account and land it in DuckDB.

The API has no `updated_since`, so a sync lists every project, and refetches only those whose
`updated_at` moved or whose newest logs it has not seen (one logs request per unchanged
project). A full reconciliation refetches everything and notices what the logs missed. Each
flush lands whole projects in one transaction, and every cursor is read back from the landed
tables, so a sync killed at any point resumes correctly on the next run.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import orjson
import pyarrow as pa

from pipeline import warehouse
from pipeline.buildos.client import BuildOSClient, BuildOSError, ClientSettings
from pipeline.buildos.records import (
    ENTITIES,
    RecordError,
    arrow_schema,
    payload_hash,
    read_record,
)

ALL_STATUSES = "active,paused,completed,cancelled"
# Children of a project that a refetch sees whole, and where each comes from.
PROJECT_SCOPED = ("tasks", "goals", "plans", "milestones", "documents", "edges", "events")
BUNDLE_KEYS = {
    "tasks": "tasks",
    "goals": "goals",
    "plans": "plans",
    "milestones": "milestones",
    "documents": "documents",
}
EVENTS_LIMIT = 1000
QUARANTINE_SCHEMA = pa.schema(
    [
        ("account_id", pa.string()),
        ("entity", pa.string()),
        ("record_id", pa.string()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.string()),
        ("payload_hash", pa.string()),
        ("_synced_at", pa.timestamp("us", tz="UTC")),
        ("_sync_id", pa.string()),
    ]
)

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    reconcile_every: int = 24  # every Nth sync is a full reconciliation
    braindump_lookback_days: int = 3  # re-read brain dumps this far back (status changes)
    brief_lookback_days: int = 3
    flush_rows: int = 25_000  # land after this many parsed rows
    account_id: str | None = None  # needed with an API key (login tells it otherwise)


@dataclass
class SyncResult:
    sync_id: str
    account_id: str | None
    mode: str
    projects_seen: int = 0
    projects_fetched: int = 0
    landed: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    quarantine_examples: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def records_landed(self) -> int:
        return sum(self.landed.values())


class _Batch:
    """Parsed rows waiting to be landed together, with what they prove was seen."""

    def __init__(self, account_id: str, sync_id: str, synced_at: datetime):
        self.account_id, self.sync_id, self.synced_at = account_id, sync_id, synced_at
        self.rows: dict[str, list[dict]] = {name: [] for name in ENTITIES}
        self.quarantine: list[dict] = []
        self.seen: list[tuple[str, str]] = []  # (entity, id) in the refetched scopes
        self.scopes: dict[str, set[str]] = {}  # scope column -> refetched scope ids
        self.removal: list[tuple[str, str]] = []  # (entity, scope column) to reconcile
        self.vanished: set[str] = set()  # projects the API stopped showing since the last sync

    def add(
        self, entity: str, records: list, fallback: dict | None = None, seen: bool = False
    ) -> None:
        spec = ENTITIES[entity]
        out = self.rows[entity]
        for record in records:
            digest = payload_hash(record)
            try:
                row = read_record(spec, record, fallback)
            except RecordError as error:
                self.quarantine.append(
                    {
                        "account_id": self.account_id,
                        "entity": entity,
                        "record_id": error.record_id,
                        "field": error.field,
                        "reason": str(error),
                        "payload": orjson.dumps(record).decode(),
                        "payload_hash": digest,
                        "_synced_at": self.synced_at,
                        "_sync_id": self.sync_id,
                    }
                )
                if seen and error.record_id:
                    self.seen.append((entity, error.record_id))  # known, just unreadable
                continue
            row["account_id"] = self.account_id
            row["payload"] = orjson.dumps(record).decode()
            row["payload_hash"] = digest
            row["_synced_at"] = self.synced_at
            row["_sync_id"] = self.sync_id
            out.append(row)
            if seen:
                self.seen.append((entity, row["id"]))

    def size(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def land(self, con: duckdb.DuckDBPyConnection, result: SyncResult) -> None:
        """Everything in this batch, in one transaction."""
        con.begin()
        try:
            for name, rows in self.rows.items():
                # The same record twice in one batch (pages shifting under us): keep the last.
                rows = list({row["id"]: row for row in rows}.values())
                if rows:
                    table = pa.Table.from_pylist(rows, schema=arrow_schema(ENTITIES[name]))
                    warehouse.land_batch(con, ENTITIES[name], table)
                    result.landed[name] = result.landed.get(name, 0) + len(rows)
            if self.quarantine:
                con.register(
                    "quarantined", pa.Table.from_pylist(self.quarantine, schema=QUARANTINE_SCHEMA)
                )
                con.execute(
                    "insert or ignore into meta.quarantine by name select * from quarantined"
                )
                con.unregister("quarantined")
                result.quarantined += len(self.quarantine)
                result.quarantine_examples.extend(
                    q["reason"] for q in self.quarantine[: 5 - len(result.quarantine_examples)]
                )
            if self.removal or self.vanished:
                self._mark_removed(con)
            con.commit()
        except BaseException:
            con.rollback()
            raise

    def _mark_removed(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(
            "create or replace temp table sync_context as "
            "select ?::varchar as account_id, ?::timestamptz as synced_at",
            [self.account_id, self.synced_at],
        )
        seen = pa.table(
            {"entity": [e for e, _ in self.seen], "id": [i for _, i in self.seen]},
            schema=pa.schema([("entity", pa.string()), ("id", pa.string())]),
        )
        con.register("seen_ids", seen)
        try:
            for entity, scope_column in self.removal:
                scope = pa.table(
                    {"scope_id": sorted(self.scopes[scope_column])},
                    schema=pa.schema([("scope_id", pa.string())]),
                )
                con.register("refetched_scope", scope)
                warehouse.mark_removed(con, ENTITIES[entity], scope_column)
                con.unregister("refetched_scope")
            if self.vanished:
                # A project the API no longer shows takes its children and logs with it: none
                # of them is returned any more, and a fresh sync would not have them.
                scope = pa.table(
                    {"scope_id": sorted(self.vanished)},
                    schema=pa.schema([("scope_id", pa.string())]),
                )
                con.register("refetched_scope", scope)
                for entity in (*PROJECT_SCOPED, "logs"):
                    warehouse.mark_removed(con, ENTITIES[entity], "project_id")
                con.unregister("refetched_scope")
        finally:
            con.unregister("seen_ids")


@dataclass
class _Fetched:
    """One refetched project: its rows as the API gave them."""

    listed: dict
    bundle: dict | None  # None: the project answered 404 (deleted since it was listed)
    archived: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


async def sync_account(
    settings: ClientSettings,
    con: duckdb.DuckDBPyConnection,
    options: SyncOptions = SyncOptions(),
    progress: Progress | None = None,
) -> SyncResult:
    """Sync one account into `con` (the caller owns the connection)."""
    report = progress or (lambda phase, done, total: None)
    warehouse.ensure_ingest_tables(con)
    sync_id = uuid.uuid4().hex
    started = datetime.now(UTC)
    client = BuildOSClient(settings)
    # Recorded even when the login fails (the account is not known yet then).
    result = SyncResult(sync_id, options.account_id, "full" if options.full else "incremental")
    try:
        async with client:
            account_id = client.account_id or options.account_id
            if not account_id:
                raise BuildOSError(
                    "with an API key the account id must be configured "
                    "(BUILDOS_ACCOUNT_ID): the API has no route that tells it"
                )
            result.account_id = account_id
            state = _read_state(con, account_id)
            full = (
                options.full
                or state["syncs"] == 0
                or state["since_full"] + 1 >= options.reconcile_every
            )
            result.mode = "full" if full else "incremental"
            _record_run(con, result, started, "running", None, client)
            await _sync(client, con, account_id, state, full, options, result, report, started)
    except BaseException as exc:
        result.stats = client.stats.as_dict()
        _record_run(con, result, started, "failed", f"{type(exc).__name__}: {exc}", client)
        raise
    result.stats = client.stats.as_dict()
    _write_state(con, account_id, full, started)
    _record_run(con, result, started, "succeeded", None, client)
    return result


async def _sync(
    client: BuildOSClient,
    con,
    account_id: str,
    state: dict,
    full: bool,
    options: SyncOptions,
    result: SyncResult,
    report: Progress,
    synced_at: datetime,
) -> None:
    listed = await client.get_pages(
        "/api/projects", "projects", {"status": ALL_STATUSES, "include_counts": "true"}
    )
    result.projects_seen = len(listed)
    server_now = _server_now(client, synced_at)
    window = {
        "start": (server_now - timedelta(days=400)).isoformat(),
        "end": (server_now + timedelta(days=400)).isoformat(),
    }
    calendar = (await client.get("/api/calendar/items", window)).get("items") or []
    suspects = set() if full else _suspect_projects(con, account_id, listed, calendar, server_now)
    known_logs = state["recent_logs"]
    phase = f"{settings_label(client)} projects"
    report(phase, 0, len(listed))

    async def visit(project: dict) -> _Fetched | None:
        project_id = project["id"]
        stop_ids = None if full else known_logs.get(project_id, set())
        if not full and project_id not in suspects:
            head = await client.get(
                f"/api/onto/projects/{project_id}/logs", {"limit": 50, "offset": 0}
            )
            if all(log.get("id") in stop_ids for log in head.get("logs") or []):
                return None
        return await _fetch_project(client, project, stop_ids, server_now)

    batch = _Batch(account_id, result.sync_id, synced_at)
    gone: set[str] = set()
    done = 0
    tasks = [asyncio.ensure_future(visit(p)) for p in listed]
    try:
        for next_done in asyncio.as_completed(tasks):
            fetched = await next_done
            done += 1
            report(phase, done, len(listed))
            if fetched is None:
                continue
            if fetched.bundle is None:
                gone.add(fetched.listed["id"])
                continue
            result.projects_fetched += 1
            _add_project(batch, fetched)
            if batch.size() >= options.flush_rows:
                batch.land(con, result)
                batch = _Batch(account_id, result.sync_id, synced_at)
    finally:
        # One failure (say, the circuit breaker) stops the run: cancel the rest cleanly.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    # Projects no longer listed are gone (soft-deleted projects are hidden by the API).
    batch.scopes["account_id"] = {account_id}
    batch.seen.extend(("projects", p["id"]) for p in listed if p["id"] not in gone)
    batch.removal.append(("projects", "account_id"))
    listed_ids = {p["id"] for p in listed}
    stored = con.execute(
        "select id from buildos.projects where account_id = ? and _removed_at is null",
        [account_id],
    ).fetchall()
    batch.vanished = gone | {project_id for (project_id,) in stored if project_id not in listed_ids}
    batch.add("calendar_items", calendar, seen=True)
    batch.removal.append(("calendar_items", "account_id"))
    await _fetch_account_level(client, batch, con, account_id, full, options)
    batch.land(con, result)


def _suspect_projects(
    con, account_id: str, listed: list[dict], calendar: list[dict], server_now: datetime
) -> set[str]:
    """Projects worth refetching without reading their logs: what the list, the clock and the
    calendar (which shows task dates and events) say changed since the last sync."""
    stored = dict(
        con.execute(
            "select id, epoch_us(updated_at) from buildos.projects where account_id = ? "
            "and _removed_at is null",
            [account_id],
        ).fetchall()
    )
    counts = dict(
        con.execute(
            "select project_id, count(*) from buildos.tasks where account_id = ? "
            "and _removed_at is null and deleted_at is null group by all",
            [account_id],
        ).fetchall()
    )
    suspects = {
        p["id"]
        for p in listed
        if p["id"] not in stored
        or stored[p["id"]] != _epoch_us(p.get("updated_at"))
        or ("task_count" in p and p["task_count"] != counts.get(p["id"], 0))
    }
    # A milestone past due that is neither completed nor in progress turns "missed" in the
    # API as time passes, with no update and no log.
    suspects |= {
        row[0]
        for row in con.execute(
            "select distinct project_id from buildos.milestones where account_id = ? "
            "and _removed_at is null and state_key = 'pending' and due_at < ?",
            [account_id, server_now],
        ).fetchall()
    }
    updated = dict(
        con.execute(
            "select id, epoch_us(updated_at) from buildos.tasks where account_id = ? "
            "and _removed_at is null union all select id, epoch_us(updated_at) "
            "from buildos.events where account_id = ? "
            "and _removed_at is null",
            [account_id, account_id],
        ).fetchall()
    )
    for item in calendar:
        source_id = item.get("task_id") or item.get("event_id")
        if source_id and updated.get(source_id) != _epoch_us(item.get("updated_at")):
            suspects.add(item.get("project_id"))
    return suspects


def settings_label(client: BuildOSClient) -> str:
    """Who is being synced, for progress lines: the login email, never a secret."""
    return client.settings.email or (client.account_id or "account")[:8]


def _server_now(client: BuildOSClient, fallback: datetime) -> datetime:
    stamp = client.server_now
    if not stamp:
        return fallback
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


async def _fetch_project(
    client: BuildOSClient, project: dict, stop_ids: set[str] | None, server_now: datetime
) -> _Fetched:
    project_id = project["id"]
    base = f"/api/onto/projects/{project_id}"
    try:
        bundle = await client.get(base)
    except BuildOSError as error:
        if "HTTP 404" in str(error):
            return _Fetched(listed=project, bundle=None)
        raise
    archived, edges, logs = await asyncio.gather(
        client.get_offset_pages(f"{base}/tasks/archived", "tasks", limit=200),
        client.get("/api/onto/edges", {"project_id": project_id}),
        client.get_offset_pages(f"{base}/logs", "logs", limit=50, stop_at_ids=stop_ids),
    )
    events = await _fetch_events(client, base, server_now)
    return _Fetched(
        listed=project,
        bundle=bundle,
        archived=archived,
        edges=edges.get("edges") or [],
        logs=logs,
        events=events,
    )


async def _fetch_events(
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


def _add_project(batch: _Batch, fetched: _Fetched) -> None:
    project_id = fetched.listed["id"]
    bundle = fetched.bundle
    batch.add("projects", [bundle.get("project") or fetched.listed])
    scope = {"project_id": project_id}
    for entity, key in BUNDLE_KEYS.items():
        batch.add(entity, bundle.get(key) or [], scope, seen=True)
    batch.add("tasks", fetched.archived, scope, seen=True)
    batch.add("edges", fetched.edges, scope, seen=True)
    batch.add("events", fetched.events, scope, seen=True)
    batch.add("logs", fetched.logs, scope)
    batch.scopes.setdefault("project_id", set()).add(project_id)
    for entity in PROJECT_SCOPED:
        if ("project_id", entity) not in [(s, e) for e, s in batch.removal]:
            batch.removal.append((entity, "project_id"))


async def _fetch_account_level(
    client: BuildOSClient,
    batch: _Batch,
    con,
    account_id: str,
    full: bool,
    options: SyncOptions,
) -> None:
    # Brain dumps: newest first; an incremental sync stops a few days before the newest it has.
    known = dict(
        con.execute(
            "select id, epoch_us(updated_at) from buildos.braindumps "
            "where account_id = ? and _removed_at is null",
            [account_id],
        ).fetchall()
    )
    newest = con.execute(
        "select max(created_at) from buildos.braindumps where account_id = ?", [account_id]
    ).fetchall()[0][0]
    cutoff = (
        None if full or newest is None else newest - timedelta(days=options.braindump_lookback_days)
    )
    listed: list[dict] = []
    offset = 0
    while True:
        data = await client.get("/api/onto/braindumps", {"limit": 100, "offset": offset})
        page = data.get("braindumps") or []
        listed.extend(page)
        oldest = page[-1].get("created_at") if page else None
        if not data.get("hasMore") or not page:
            break
        if cutoff is not None and oldest and _parse(oldest) < cutoff:
            break
        offset += len(page)
    changed = [
        d
        for d in listed
        if d.get("id") not in known or _epoch_us(d.get("updated_at")) != known.get(d.get("id"))
    ]
    details = await asyncio.gather(
        *[client.get(f"/api/onto/braindumps/{d['id']}") for d in changed if d.get("id")]
    )
    batch.add("braindumps", [d.get("braindump") or {} for d in details])
    batch.add("braindumps", [d for d in changed if not d.get("id")])  # quarantined as such
    if full:
        batch.scopes["account_id"] = {account_id}
        batch.seen.extend(("braindumps", d["id"]) for d in listed if d.get("id"))
        batch.removal.append(("braindumps", "account_id"))
    # Daily briefs: by date; incremental re-reads the last few days.
    params = {}
    last_brief = con.execute(
        "select max(brief_date) from buildos.briefs where account_id = ?", [account_id]
    ).fetchall()[0][0]
    if not full and last_brief is not None:
        params["start_date"] = (
            last_brief - timedelta(days=options.brief_lookback_days)
        ).isoformat()
    batch.add("briefs", await client.get_pages("/api/daily-briefs/history", "briefs", params))


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _read_state(con, account_id: str) -> dict:
    state = dict(
        con.execute(
            "select state_key, state_value from meta.sync_state where account_id = ?", [account_id]
        ).fetchall()
    )
    recent_logs: dict[str, set[str]] = {}
    for project_id, log_id in con.execute(
        "select project_id, id from buildos.logs where account_id = ? and _removed_at is null "
        "qualify row_number() over (partition by project_id "
        "order by created_at desc, id desc) <= 50",
        [account_id],
    ).fetchall():
        recent_logs.setdefault(project_id, set()).add(log_id)
    return {
        "syncs": int(state.get("syncs", 0)),
        "since_full": int(state.get("syncs_since_full", 0)),
        "recent_logs": recent_logs,
    }


def _epoch_us(value) -> int | None:
    """An API timestamp as microseconds since the epoch (stored ones are read the same way,
    with epoch_us(), so no timestamp is converted to a Python object per row)."""
    parsed = _parse_or_none(value)
    if parsed is None:
        return None
    delta = parsed - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _parse_or_none(value) -> datetime | None:
    try:
        return _parse(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _write_state(con, account_id: str, full: bool, at: datetime) -> None:
    state = _read_state(con, account_id)
    values = {
        "syncs": str(state["syncs"] + 1),
        "syncs_since_full": "0" if full else str(state["since_full"] + 1),
        "last_sync_at": at.isoformat(),
    }
    if full:
        values["last_full_sync_at"] = at.isoformat()
    rows = [(account_id, key, value, at) for key, value in values.items()]
    con.executemany("insert or replace into meta.sync_state values (?, ?, ?, ?)", rows)


def _record_run(
    con,
    result: SyncResult,
    started: datetime,
    status: str,
    error: str | None,
    client: BuildOSClient,
) -> None:
    stats = client.stats.as_dict()
    con.execute(
        "insert or replace into meta.sync_runs values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.sync_id,
            result.account_id,
            result.mode,
            status,
            started,
            None if status == "running" else datetime.now(UTC),
            client.server_now,
            result.projects_seen,
            result.projects_fetched,
            result.records_landed,
            result.quarantined,
            stats["requests"],
            stats["bytes"],
            stats["logins"],
            stats["retries_rate_limited"],
            stats["retries_server_error"],
            stats["retries_timeout"],
            stats["retries_connection"],
            stats["retries_session"],
            stats["duration_seconds"],
            error,
        ],
    )


def run_sync(
    accounts: list[tuple[ClientSettings, str | None]],
    con: duckdb.DuckDBPyConnection,
    options: SyncOptions = SyncOptions(),
    progress: Progress | None = None,
) -> list[SyncResult]:
    """Sync each account in turn into `con` (one writer; accounts never share rows)."""
    results = []
    for settings, account_id in accounts:
        account_options = (
            options
            if account_id is None
            else SyncOptions(**{**options.__dict__, "account_id": account_id})
        )
        results.append(asyncio.run(sync_account(settings, con, account_options, progress)))
    return results
