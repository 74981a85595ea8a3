"""A sync: pull what changed in BuildOS accounts and land it in DuckDB.

The API has no `updated_since`, so a sync lists every project, and refetches only those whose
`updated_at` moved or whose newest logs it has not seen (one logs request per unchanged
project). A full reconciliation refetches everything and notices what the logs missed. Parsed
records are staged as the answers arrive and merged once per account, in one transaction
(`landing`); every cursor is read back from the landed tables (`detect`), so a sync killed at
any point resumes correctly on the next run. Accounts run concurrently, each with its own
session and its own DuckDB connection.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import duckdb
import httpx

from pipeline.buildos import detect, landing
from pipeline.buildos.account_lists import fetch_account_level
from pipeline.buildos.client import BuildOSClient, BuildOSError, ClientSettings
from pipeline.buildos.evidence import RUN_LEVEL, count_misses, forget_absences, valid_listing
from pipeline.buildos.fetch import ALL_STATUSES, fetch_project
from pipeline.buildos.politeness import DeploymentGate
from pipeline.buildos.project_rows import (
    Names,
    ProjectRows,
    add_project,
    is_text,
    restage_renamed_logs,
)
from pipeline.buildos.runs import SyncRun, abandon_stale_runs, record_run
from pipeline.buildos.values import is_uuid

Progress = Callable[[str, int, int], None]  # (phase, done, total)


@dataclass(frozen=True)
class SyncOptions:
    full: bool = False
    reconcile_every: int = 24  # every Nth sync is a full reconciliation
    braindump_lookback_days: int = 3  # re-read brain dumps this far back (status changes)
    brief_lookback_days: int = 3
    # Parsed rows of whole projects held before they are merged as one group (in the
    # background while fetching goes on); bounds memory whatever the account's size. Two
    # groups are held at once (one filling, one merging), for each account syncing.
    flush_rows: int = 10_000
    account_id: str | None = None  # needed with an API key (login tells it otherwise)
    # Accounts synced at once (BuildOSResource.account_concurrency). Each has its own session
    # and in-flight limit; the deployment's ceilings (DeploymentLimits) bound them together.
    account_concurrency: int = 4
    # The whole sync of one account must end within this (seconds; 0: no deadline). Each
    # request attempt has its own total deadline (ClientSettings.request_deadline).
    sync_deadline: float = 3600.0
    # A project the listing stops showing, whose bundle gives no confirming 404 (an error,
    # `data: null`), is marked removed only after this many syncs in a row missed it.
    misses_to_remove: int = 2
    # DuckDB buffers of the account databases syncing at once, together (MB): each database
    # gets an equal share, at most landing.SyncDatabaseSettings.MEMORY_LIMIT (128 MB: one
    # account alone is not slowed down) and at least MIN_DATABASE_MEMORY_MB (below that a
    # merge's own statements run out of memory; more accounts at once than budget / 96 then
    # pass the budget). 384 MB is 96 MB for each of the default 4 accounts at once: at
    # 4 x 100 x 220 the databases held 460 MB at the process's peak with 128 MB each.
    duckdb_memory_mb: int = 384


MIN_DATABASE_MEMORY_MB = 96


def database_memory_limit(options: SyncOptions, databases_at_once: int) -> str:
    """One syncing account database's share of `options.duckdb_memory_mb`."""
    ceiling = int(landing.SyncDatabaseSettings.MEMORY_LIMIT.removesuffix("MB"))
    share = options.duckdb_memory_mb // max(databases_at_once, 1)
    return f"{max(MIN_DATABASE_MEMORY_MB, min(ceiling, share))}MB"


@dataclass
class SyncResult:
    sync_id: str
    account_id: str | None
    mode: str
    projects_seen: int = 0
    projects_fetched: int = 0
    landed: dict[str, int] = field(default_factory=dict)  # new or changed records per entity
    quarantined: int = 0
    repaired: int = 0
    quarantine_examples: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    status: str = "running"  # then succeeded, partial or failed
    failed: list[dict] = field(default_factory=list)  # {unit, id, reason} a partial run missed
    paging_stops: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    def fail_unit(self, unit: str, unit_id: str | None, error: BaseException) -> None:
        """One project (or account-level list) that could not be fetched: it keeps what it
        had, and the run ends partial."""
        reason = f"{type(error).__name__}: {error}"
        self.failed.append({"unit": unit, "id": unit_id, "reason": reason})

    @property
    def records_landed(self) -> int:
        return sum(self.landed.values())


async def sync_account(
    settings: ClientSettings,
    con: duckdb.DuckDBPyConnection,
    options: SyncOptions = SyncOptions(),
    progress: Progress | None = None,
    *,
    gate: DeploymentGate | None = None,
    merge_lock: asyncio.Lock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    databases_at_once: int = 1,
) -> SyncResult:
    """Sync one account into `con` (the caller owns the connection; it can be the account's
    own file or a cursor on a shared one). `transport` replaces the network (tests).
    `databases_at_once`: account databases syncing side by side, sharing the memory budget."""
    report = progress or (lambda phase, done, total: None)
    landing.ensure_tables(con)
    sync_id = uuid.uuid4().hex
    started = datetime.now(UTC)
    client = BuildOSClient(settings, gate=gate, transport=transport)
    # Recorded even when the login fails (the account is not known yet then).
    result = SyncResult(sync_id, options.account_id, "full" if options.full else "incremental")
    try:
        async with asyncio.timeout(options.sync_deadline or None):
            memory_limit = database_memory_limit(options, databases_at_once)
            full = await _sync_session(
                client, con, options, report, result, merge_lock, started, memory_limit
            )
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, TimeoutError):
            error = f"the sync deadline of {options.sync_deadline:g} s passed"
        _finish(result, client, stage=None)
        result.status, result.error = "failed", error
        record_run(con, _run_row(result, started, client, "failed", error))
        if isinstance(exc, TimeoutError):
            raise BuildOSError(f"account {result.account_id}: {error}") from exc
        raise
    _finish(result, client, stage=None)
    result.status = "partial" if result.failed else "succeeded"
    # A partial full sync is not a full reconciliation: the next sync stays due for one.
    detect.write_state(con, result.account_id, full and not result.failed, started)
    record_run(con, _run_row(result, started, client, result.status))
    return result


async def _sync_session(
    client, con, options, report, result, merge_lock, started, memory_limit
) -> bool:
    async with client:
        account_id = client.account_id or options.account_id
        if not account_id:
            raise BuildOSError(
                "with an API key the account id must be configured "
                "(BUILDOS_ACCOUNT_ID): the API has no route that tells it"
            )
        if not is_uuid(account_id):
            # It becomes part of file paths and SQL downstream: only a UUID gets that far.
            raise BuildOSError(f"the account id {account_id!r} is not a UUID; refusing it")
        result.account_id = account_id
        abandon_stale_runs(con, account_id, result.sync_id)
        state = detect.read_state(con, account_id)
        full = (
            options.full
            or state["syncs"] == 0
            or state["since_full"] + 1 >= options.reconcile_every
        )
        result.mode = "full" if full else "incremental"
        record_run(con, _run_row(result, started, client, "running"))
        stage = landing.AccountStage(con, account_id, result.sync_id, started)
        lander = _Lander(stage, merge_lock or asyncio.Lock(), result)
        database = landing.SyncDatabaseSettings(con, memory_limit)
        try:
            try:
                waiting = await _sync(client, stage, lander, state, full, options, result, report)
            finally:
                await lander.wait()
                _finish(result, client, stage)
            await lander.land()  # the account-level records and removals, last
            forget_absences(con, account_id, waiting)
        finally:
            await asyncio.to_thread(database.end)
        _finish(result, client, stage)
    return full


def _finish(result: SyncResult, client: BuildOSClient, stage) -> None:
    result.stats = client.stats.as_dict()
    result.paging_stops = dict(client.stats.paging_stops)
    if stage is not None:
        result.quarantined = stage.quarantined
        result.repaired = stage.repaired
        result.quarantine_examples = stage.quarantine_examples


def _run_row(
    result: SyncResult, started: datetime, client: BuildOSClient, status: str, error=None
) -> SyncRun:
    run = SyncRun(
        sync_id=result.sync_id,
        account_id=result.account_id,
        mode=result.mode,
        status=status,
        started_at=started,
        server_now=client.server_now,
        projects_seen=result.projects_seen,
        projects_fetched=result.projects_fetched,
        records_landed=result.records_landed,
        records_quarantined=result.quarantined,
        records_repaired=result.repaired,
        failed_units=json.dumps(result.failed) if result.failed else None,
        paging_stops=json.dumps(result.paging_stops) if result.paging_stops else None,
    ).with_stats(client.stats.as_dict())
    return run if status == "running" else run.finish(status, error)


class _Lander:
    """Merges an account's groups of whole projects in a worker thread while the sync goes
    on fetching: one group in flight per account, one merge at a time per run (`lock`)."""

    def __init__(self, stage: landing.AccountStage, lock: asyncio.Lock, result: SyncResult):
        self.stage, self.lock, self.result = stage, lock, result
        self._in_flight: asyncio.Task | None = None

    async def _merge(self, group) -> None:
        async with self.lock:
            landed = await asyncio.to_thread(self.stage.merge, group)
        for name, count in landed.items():
            self.result.landed[name] = self.result.landed.get(name, 0) + count

    async def start(self) -> None:
        """Hand the open group over to be merged in the background."""
        await self.wait()
        self._in_flight = asyncio.ensure_future(self._merge(self.stage.take()))

    async def wait(self) -> None:
        """Until the group in flight has landed (the connection is free again)."""
        task, self._in_flight = self._in_flight, None
        if task is not None:
            await task

    async def land(self) -> None:
        await self.start()
        await self.wait()


async def _sync(
    client: BuildOSClient,
    stage: landing.AccountStage,
    lander: _Lander,
    state: dict,
    full: bool,
    options: SyncOptions,
    result: SyncResult,
    report: Progress,
) -> set[str]:
    """Returns the projects missed this time that still wait for more evidence."""
    con, account_id = stage.con, stage.account_id
    answered = await client.get_pages(
        "/api/projects", "projects", {"status": ALL_STATUSES, "include_counts": "true"}
    )
    listed = valid_listing(stage, "projects", answered)
    result.projects_seen = len(listed)
    server_now = _server_now(client, stage.synced_at)
    window = {
        "start": (server_now - timedelta(days=400)).isoformat(),
        "end": (server_now + timedelta(days=400)).isoformat(),
    }
    try:
        calendar = (await client.get("/api/calendar/items", window)).get("items")
        calendar = calendar if isinstance(calendar, list) else []
    except RUN_LEVEL:
        raise
    except Exception as error:  # one list fails, the rest of the account lands
        result.fail_unit("calendar", None, error)
        calendar = None
    suspects = (
        set()
        if full
        else detect.suspect_projects(con, account_id, listed, calendar or [], server_now)
    )
    if calendar is not None:
        # Parsed now, into the first group to merge, and its decoded answer dropped: held to
        # the end it was part of the peak, when every account parses its last rows at once.
        stage.add("calendar_items", calendar, seen=True)
        stage.scopes["account_id"] = {account_id}
        stage.removal.append(("calendar_items", "account_id"))
        calendar = None
        if stage.pending_rows() >= options.flush_rows:
            await lander.start()
    known_logs = state["recent_logs"]
    phase = f"{settings_label(client)} projects"

    # Projects a listing stopped showing: their bundle says whether they are gone (404), still
    # there (a gap in the listing), or nothing (an error, `data: null`: a miss, counted).
    listed_ids = {p["id"] for p in listed}
    stored = {
        project_id
        for (project_id,) in con.execute(
            "select id from buildos.projects where account_id = ? and _removed_at is null",
            [account_id],
        ).fetchall()
    }
    unlisted = sorted(stored - listed_ids)
    visits = [(p, False) for p in listed] + [({"id": i}, True) for i in unlisted]
    report(phase, 0, len(visits))

    # Projects fetched but not yet parsed are bounded: fetching all of an account's projects
    # at once would hold every decoded answer in memory until its turn.
    slots = asyncio.Semaphore(2 * client.settings.max_concurrency)
    ready: asyncio.Queue = asyncio.Queue()

    async def visit(project: dict, probe: bool):
        await slots.acquire()  # released once the project is adopted
        project_id = project["id"]
        try:
            stop_ids = None if full else known_logs.get(project_id, set())
            fetched = None
            if (
                probe
                or full
                or project_id in suspects
                or not await _logs_unchanged(project_id, stop_ids)
            ):
                rows = ProjectRows(stage, project_id, names=not full)
                fetched = (await fetch_project(client, project, stop_ids, server_now, rows), rows)
        except RUN_LEVEL as error:
            await ready.put(error)
            raise
        except Exception as error:  # the project fails alone, keeping its rows
            fetched = _Failed(project_id, probe, error)
        except BaseException as error:
            await ready.put(error)
            raise
        await ready.put(fetched)

    async def _logs_unchanged(project_id: str, stop_ids: set[str]) -> bool:
        head = await client.get(f"/api/onto/projects/{project_id}/logs", {"limit": 50, "offset": 0})
        logs = head.get("logs")
        if not isinstance(logs, list):
            return False  # an answer it cannot read: refetch rather than assume
        return all(is_text(log, "id") and log["id"] in stop_ids for log in logs)

    gone: set[str] = set()  # confirmed by a 404
    missed: set[str] = set()  # unlisted, and their bundle gave no answer either way
    names = Names()
    tasks = [asyncio.ensure_future(visit(p, probe)) for p, probe in visits]
    try:
        for done in range(1, len(visits) + 1):
            fetched = await ready.get()
            if isinstance(fetched, BaseException):
                raise fetched
            report(phase, done, len(visits))
            if isinstance(fetched, _Failed):
                if fetched.probe:
                    missed.add(fetched.project_id)
                else:
                    result.fail_unit("project", fetched.project_id, fetched.error)
            elif fetched is not None and not fetched[0].found:
                gone.add(fetched[0].listed["id"])
            elif fetched is not None:
                result.projects_fetched += 1
                add_project(stage, *fetched)
                if not full:
                    names.update(fetched[1].names)
            del fetched
            slots.release()
            if stage.pending_rows() >= options.flush_rows:
                await lander.start()
    finally:
        # One run-level failure (say, the circuit breaker) stops the run: cancel the rest.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await lander.wait()  # the queries below read what landed
    counted_out = count_misses(con, account_id, missed, options.misses_to_remove, stage.synced_at)
    removed = gone | counted_out
    stage.scopes["account_id"] = {account_id}
    stage.seen.extend(("projects", i) for i in (listed_ids | stored) - removed)
    stage.removal.append(("projects", "account_id"))
    stage.vanish(removed)
    restage_renamed_logs(stage, names)
    await fetch_account_level(client, stage, full, options, result)
    return missed - counted_out


@dataclass
class _Failed:
    project_id: str
    probe: bool  # a project the listing no longer shows, asked for to confirm it is gone
    error: BaseException


def settings_label(client: BuildOSClient) -> str:
    """Who is being synced, for progress lines: the login email, never a secret."""
    return client.settings.email or (client.account_id or "account")[:8]


def _server_now(client: BuildOSClient, fallback: datetime) -> datetime:
    stamp = client.server_now
    if not stamp:
        return fallback
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
