"""The sync against a hostile API (issue 10): each bad answer costs one record, one project or
one list, never the account or the run, and never hangs past its deadline.

Every case syncs the same small sandbox twice: once directly (the truth of what good rows
exist) and once through `HostileServer`, which rewrites the answers the case names."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid

import pytest

from pipeline import warehouse
from pipeline.buildos.accounts import run_sync
from pipeline.buildos.client import AuthError, BuildOSError
from pipeline.buildos.sync import SyncOptions, SyncResult, sync_account
from tests.pipeline.buildos.hostile import Exchange, HostileServer, is_bundle
from tests.pipeline.buildos.sync_helpers import (
    current_tables,
    rows,
    settings,
    simulation,
)

ENTITY_TABLES = ("projects", "tasks", "goals", "milestones", "briefs")


@pytest.fixture
def server(sandbox_factory):
    return sandbox_factory(simulation(11, accounts=2, projects=3, tasks=6, days=20))


@pytest.fixture
def clean(server, tmp_path):
    """The tables a sync lands straight from the sandbox: every good row."""
    db = tmp_path / "clean.duckdb"
    _sync(server.base_url, db)
    return db


def _sync(base_url: str, db, index: int = 0, options=None, **overrides) -> SyncResult:
    con = warehouse.connect(db)
    try:
        return asyncio.run(
            sync_account(
                settings(base_url, index, **overrides), con, options or SyncOptions(full=True)
            )
        )
    finally:
        con.close()


def _ids(db, table: str, where: str = "true") -> set[str]:
    return {r[0] for r in rows(db, f"select id from buildos.{table} where {where}")}


def _quarantine(db) -> list[tuple]:
    return rows(
        db,
        "select entity, record_id, field, disposition, reason from meta.quarantine "
        "order by entity, record_id, field",
    )


def _run(db) -> tuple:
    [run] = rows(
        db,
        "select status, failed_units, paging_stops, records_quarantined, records_repaired "
        "from meta.sync_runs order by started_at desc limit 1",
    )
    return run


class OnBundle:
    """Rewrite the bundle of chosen projects: `edit(exchange, data)` per matching answer."""

    def __init__(self, edit, projects: set[str] | None = None):
        self.edit, self.projects, self.active = edit, projects, True

    def __call__(self, exchange: Exchange) -> None:
        if not (self.active and is_bundle(exchange) and exchange.status == 200):
            return
        project_id = exchange.path.rsplit("/", 1)[-1]
        if self.projects is None or project_id in self.projects:
            self.edit(exchange, exchange.data)


def _first_project(db) -> str:
    return rows(db, "select id from buildos.projects order by id limit 1")[0][0]


# -- 1. one character ------------------------------------------------------------------------


def test_a_lone_surrogate_or_invalid_utf8_is_repaired_and_flagged_not_fatal(
    server, clean, tmp_path
):
    target = _first_project(clean)
    [first, second] = sorted(_ids(clean, "tasks", f"project_id = '{target}'"))[:2]

    def edit(exchange: Exchange, data: dict) -> None:
        for task in data["tasks"]:
            if task["id"] == first:
                task["title"] = "half an emoji \ud83d here"  # sent as the \ud83d escape
            if task["id"] == second:
                task["title"] = "MARK-INVALID-BYTES"
        exchange.set_data(data)
        exchange.body = exchange.body.replace(b"MARK-INVALID-BYTES", b"bad \xff\xfe bytes")

    db = tmp_path / "w.duckdb"
    with HostileServer(server.base_url, OnBundle(edit, {target})) as hostile:
        result = _sync(hostile.base_url, db)

    assert result.status == "succeeded"
    for table in ENTITY_TABLES:
        assert _ids(db, table) == _ids(clean, table), table
    titles = dict(
        rows(db, "select id, title from buildos.tasks where id in (?, ?)", [first, second])
    )
    assert titles[first] == "half an emoji \ufffd here"
    assert titles[second] == "bad \ufffd\ufffd bytes"
    flagged = {(r[1], r[2], r[3]) for r in _quarantine(db)}
    assert flagged == {(first, "title", "repaired"), (second, "title", "repaired")}
    assert _run(db)[4] == 2


# -- 2. out-of-range integers, NUL, strict dates, a child under the wrong project -----------


def test_bad_values_are_quarantined_with_entity_id_field_and_reason(server, clean, tmp_path):
    target = _first_project(clean)
    [big, moved] = sorted(_ids(clean, "tasks", f"project_id = '{target}'"))[:2]
    [brief] = sorted(_ids(clean, "briefs"))[:1]
    elsewhere = str(uuid.uuid4())

    def rule(exchange: Exchange) -> None:
        data = exchange.data
        if is_bundle(exchange) and exchange.path.endswith(target):
            data["project"]["name"] = "Na\x00me"
            for task in data["tasks"]:
                if task["id"] == big:
                    task["priority"] = 1099511627776
                if task["id"] == moved:
                    task["project_id"] = elsewhere
            exchange.set_data(data)
        if exchange.path == "/api/daily-briefs/history":
            for item in data["briefs"]:
                if item["id"] == brief:
                    item["brief_date"] = "2026-11-01garbage"
            exchange.set_data(data)

    db = tmp_path / "w.duckdb"
    with HostileServer(server.base_url, rule) as hostile:
        result = _sync(hostile.base_url, db)

    assert result.status == "succeeded"
    assert _quarantine(db) == [
        (
            "briefs",
            brief,
            "brief_date",
            "rejected",
            f"briefs record {brief}: field 'brief_date': '2026-11-01garbage' is not an "
            "ISO 8601 date",
        ),
        (
            "projects",
            target,
            "name",
            "repaired",
            f"projects record {target}: field 'name': invalid text (lone surrogate, invalid "
            "UTF-8 or NUL) replaced",
        ),
        (
            "tasks",
            big,
            "priority",
            "rejected",
            f"tasks record {big}: field 'priority': 1099511627776 is out of range "
            "(-2147483648 to 2147483647)",
        ),
        (
            "tasks",
            moved,
            "project_id",
            "rejected",
            f"tasks record {moved}: field 'project_id': is '{elsewhere}', but the record was "
            f"fetched under '{target}'",
        ),
    ]
    assert rows(db, "select name from buildos.projects where id = ?", [target]) == [("Name",)]
    assert _ids(db, "tasks") == _ids(clean, "tasks") - {big, moved}
    assert _ids(db, "briefs") == _ids(clean, "briefs") - {brief}
    assert _ids(db, "goals") == _ids(clean, "goals")


# -- 3. listing items without a usable id ----------------------------------------------------


def test_listed_projects_without_a_uuid_id_are_quarantined_and_the_rest_lands(
    server, clean, tmp_path
):
    def rule(exchange: Exchange) -> None:
        if exchange.path == "/api/projects":
            data = exchange.data
            data["projects"] += [{"name": "no id"}, {"id": None}, {"id": "../../x"}, 7]
            exchange.set_data(data)

    db = tmp_path / "w.duckdb"
    with HostileServer(server.base_url, rule) as hostile:
        result = _sync(hostile.base_url, db)

    assert result.status == "succeeded"
    assert {(r[1], r[2], r[4]) for r in _quarantine(db)} == {
        (None, "id", "projects record without an id: field 'id': listed item: id is missing"),
        (None, "id", "projects record without an id: field 'id': listed item: id is null"),
        (
            "../../x",
            "id",
            "projects record ../../x: field 'id': listed item: id '../../x' is not a UUID",
        ),
        (
            None,
            "id",
            "projects record without an id: field 'id': listed item: id expected a JSON "
            "object, got int",
        ),
    }
    for table in ENTITY_TABLES:
        assert _ids(db, table) == _ids(clean, table), table


# -- 4. one project, one account -------------------------------------------------------------


def test_a_project_that_always_fails_keeps_its_rows_and_the_run_is_partial(server, tmp_path):
    db = tmp_path / "w.duckdb"
    rule = OnBundle(lambda exchange, data: exchange.fail(500))
    rule.active = False
    with HostileServer(server.base_url, rule) as hostile:
        _sync(hostile.base_url, db)
        target = _first_project(db)
        before = current_tables(db)
        rule.projects, rule.active = {target}, True
        result = _sync(hostile.base_url, db, max_attempts=3)

    assert result.status == "partial"
    [failed] = result.failed
    assert (failed["unit"], failed["id"]) == ("project", target)
    assert "failed after 3 attempts: HTTP 500" in failed["reason"]
    assert current_tables(db) == before  # nothing lost, nothing marked removed
    status, failed_units, *_ = _run(db)
    assert status == "partial" and json.loads(failed_units) == result.failed


def test_a_wrong_password_on_one_account_does_not_stop_the_next(server, tmp_path):
    db = tmp_path / "w.duckdb"
    bad = dataclasses.replace(settings(server.base_url, 0), password="wrong")
    con = warehouse.connect(db)
    try:
        with pytest.raises(AuthError):
            run_sync([(bad, None), (settings(server.base_url, 1), None)], con, SyncOptions())
    finally:
        con.close()
    statuses = sorted(r[0] for r in rows(db, "select status from meta.sync_runs"))
    assert statuses == ["failed", "succeeded"]
    assert rows(db, "select count(*) > 0 from buildos.tasks") == [(True,)]


# -- 5. hangs and endless paging --------------------------------------------------------------


def test_a_trickling_body_times_out_at_the_request_deadline(server, clean, tmp_path):
    target = _first_project(clean)

    def trickle(exchange: Exchange, data) -> None:
        exchange.trickle_seconds = 0.5

    db = tmp_path / "w.duckdb"
    started = time.monotonic()
    with HostileServer(server.base_url, OnBundle(trickle, {target})) as hostile:
        result = _sync(hostile.base_url, db, request_deadline=1.0, max_attempts=2)
    assert time.monotonic() - started < 30
    assert result.status == "partial"
    assert [f["id"] for f in result.failed] == [target]
    assert "no whole answer within 1 s" in result.failed[0]["reason"]
    assert _ids(db, "projects") == _ids(clean, "projects") - {target}


def test_a_sync_past_its_deadline_fails_cleanly(server, tmp_path):
    db = tmp_path / "w.duckdb"
    rule = OnBundle(lambda exchange, data: setattr(exchange, "trickle_seconds", 0.5))
    started = time.monotonic()
    with HostileServer(server.base_url, rule) as hostile, pytest.raises(BuildOSError) as raised:
        _sync(hostile.base_url, db, options=SyncOptions(full=True, sync_deadline=2))
    assert time.monotonic() - started < 30
    assert "the sync deadline of 2 s passed" in str(raised.value)
    assert rows(db, "select status from meta.sync_runs") == [("failed",)]


def test_paging_that_lies_stops_and_says_why(server, clean, tmp_path):
    first_pages: dict[str, bytes] = {}

    def rule(exchange: Exchange) -> None:
        data = exchange.data
        if exchange.path == "/api/projects":
            if exchange.query.get("page") == "1":
                data["total"] = 10**6  # a total that lies
                exchange.set_data(data)
                first_pages["projects"] = exchange.body
            else:  # a page parameter the server ignores
                exchange.body = first_pages["projects"]
        elif exchange.path.endswith("/logs") and isinstance(data, dict):
            data.update(hasMore=True, nextOffset=0)  # an offset that never advances
            exchange.set_data(data)
        elif exchange.path == "/api/daily-briefs/history":
            data["pagination"]["hasNext"] = True  # a hasNext that never turns false
            exchange.set_data(data)

    db = tmp_path / "w.duckdb"
    with HostileServer(server.base_url, rule) as hostile:
        result = _sync(hostile.base_url, db)

    assert result.status == "succeeded"
    assert result.paging_stops["/api/projects: page with no new ids"] == 1
    assert result.paging_stops["/api/onto/projects/{id}/logs: offset did not advance"] >= 1
    assert result.paging_stops["/api/daily-briefs/history: empty page"] == 1
    assert json.loads(_run(db)[2]) == result.paging_stops
    assert current_tables(db) == current_tables(clean)


def test_the_page_cap_ends_a_listing_that_never_ends(server, clean, tmp_path):
    def rule(exchange: Exchange) -> None:
        if exchange.path == "/api/onto/braindumps":
            data = exchange.data
            offset = int(exchange.query.get("offset", 0))
            data.update(hasMore=True, braindumps=[{"id": str(uuid.UUID(int=offset + 1))}])
            exchange.set_data(data)

    db = tmp_path / "w.duckdb"
    with HostileServer(server.base_url, rule) as hostile:
        result = _sync(hostile.base_url, db, max_pages=5)
    assert result.paging_stops == {"/api/onto/braindumps: page cap": 1}


# -- 6. removal only on evidence, and history that reopens -----------------------------------


def _open_versions_match(db) -> None:
    """Every live row of a history-kept entity has exactly one open version, of its payload."""
    for table in ("projects", "tasks", "goals", "milestones"):
        orphans = rows(
            db,
            f"select c.id from buildos.{table} as c where c._removed_at is null and "
            f"(select count(*) from history.{table} as h where h.account_id = c.account_id "
            "and h.id = c.id and h.valid_to is null and h.payload_hash = c.payload_hash) <> 1",
        )
        assert orphans == [], table


def test_a_project_missing_from_listings_is_removed_only_on_evidence(server, tmp_path):
    db = tmp_path / "w.duckdb"
    hidden: set[str] = set()

    def rule(exchange: Exchange) -> None:
        if exchange.path == "/api/projects":
            data = exchange.data
            data["projects"] = [p for p in data["projects"] if p["id"] not in hidden]
            exchange.set_data(data)
        elif is_bundle(exchange) and exchange.path.rsplit("/", 1)[-1] in hidden:
            exchange.set_data(None)  # data: null, which is no evidence

    incremental = SyncOptions()
    with HostileServer(server.base_url, rule) as hostile:
        _sync(hostile.base_url, db)
        target = _first_project(db)
        children = _ids(db, "tasks", f"project_id = '{target}'")
        hidden.add(target)
        _sync(hostile.base_url, db, options=incremental)  # one miss: kept
        assert _ids(db, "projects", "_removed_at is null") >= {target}
        assert _ids(db, "tasks", "_removed_at is null") >= children
        _open_versions_match(db)

        hidden.clear()  # back: the count starts again
        _sync(hostile.base_url, db, options=incremental)
        assert rows(db, "select count(*) from meta.absences") == [(0,)]

        hidden.add(target)  # two misses in a row: removed with its children
        _sync(hostile.base_url, db, options=incremental)
        _sync(hostile.base_url, db, options=incremental)
        assert target not in _ids(db, "projects", "_removed_at is null")
        assert not children & _ids(db, "tasks", "_removed_at is null")

        hidden.clear()  # it returns unchanged: current rows and history versions reopen
        _sync(hostile.base_url, db, options=incremental)
        _sync(hostile.base_url, db, options=SyncOptions(full=True))
    assert target in _ids(db, "projects", "_removed_at is null")
    assert children <= _ids(db, "tasks", "_removed_at is null")
    _open_versions_match(db)


def test_a_listed_project_whose_bundle_is_null_keeps_its_rows(server, tmp_path):
    db = tmp_path / "w.duckdb"
    rule = OnBundle(lambda exchange, data: exchange.set_data(None))
    rule.active = False
    with HostileServer(server.base_url, rule) as hostile:
        _sync(hostile.base_url, db)
        target = _first_project(db)
        before = current_tables(db)
        rule.projects, rule.active = {target}, True
        result = _sync(hostile.base_url, db)
    assert result.status == "partial"
    assert "the bundle has no project" in result.failed[0]["reason"]
    assert current_tables(db) == before


# -- 9. an account id that is not an id ------------------------------------------------------


def test_an_account_id_that_is_not_a_uuid_is_refused(server, tmp_path):
    def rule(exchange: Exchange) -> None:
        if exchange.path == "/api/auth/login" and exchange.status == 200:
            data = exchange.data
            data["user"]["id"] = "../../x"
            exchange.set_data(data)

    db = tmp_path / "w.duckdb"
    with HostileServer(server.base_url, rule) as hostile, pytest.raises(BuildOSError) as raised:
        _sync(hostile.base_url, db)
    assert "the account id '../../x' is not a UUID" in str(raised.value)
    assert rows(db, "select count(*) from buildos.tasks") == [(0,)]
    assert rows(db, "select status from meta.sync_runs") == [("failed",)]


# -- 10. stale runs ----------------------------------------------------------------------------


def test_a_run_left_running_is_marked_abandoned(server, tmp_path):
    db = tmp_path / "w.duckdb"
    first = _sync(server.base_url, db)
    con = warehouse.connect(db)
    try:
        con.execute(
            "insert into meta.sync_runs (sync_id, account_id, mode, status, started_at) "
            "values ('killed', ?, 'full', 'running', now())",
            [first.account_id],
        )
    finally:
        con.close()
    _sync(server.base_url, db)
    assert rows(db, "select status from meta.sync_runs where sync_id = 'killed'") == [
        ("abandoned",)
    ]


def test_malformed_shapes_in_an_incremental_sync_cost_one_project_or_one_record(server, tmp_path):
    db = tmp_path / "w.duckdb"
    broken: set[str] = set()

    def rule(exchange: Exchange) -> None:
        data = exchange.data
        if is_bundle(exchange) and exchange.path.rsplit("/", 1)[-1] in broken:
            data["tasks"] = 5  # not a list: no evidence that the tasks are gone
            data["goals"] = [{"id": ["a", "list"], "name": 1}, "text"]
            exchange.set_data(data)
        elif exchange.path == "/api/calendar/items":
            data["items"] += [7, {"task_id": ["x"], "project_id": {"y": 1}}]
            exchange.set_data(data)
        elif exchange.path.endswith("/logs") and broken:
            data["logs"] = [*data["logs"], {"id": ["x"], "entity_id": {}, "entity_name": 3}]
            exchange.set_data(data)

    with HostileServer(server.base_url, rule) as hostile:
        _sync(hostile.base_url, db)
        target = _first_project(db)
        before = current_tables(db)
        broken.add(target)
        result = _sync(hostile.base_url, db, options=SyncOptions(full=False))
    assert result.status == "partial"
    assert [(f["unit"], f["id"]) for f in result.failed] == [("project", target)]
    assert "the bundle's tasks, goals is not a list" not in result.failed[0]["reason"]
    assert "the bundle's tasks is not a list" in result.failed[0]["reason"]
    live = current_tables(db, live_only=True)
    for table in ("buildos.projects", "buildos.tasks", "buildos.goals"):
        assert [r[:2] for r in live[table]] == [
            r[:2]
            for r in before[table]
            if r[-1] is None  # nothing marked removed
        ], table
