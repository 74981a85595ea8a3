"""The account-level lists of a sync: brain dumps and daily briefs, each a unit of its own."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from pipeline.buildos import detect, landing
from pipeline.buildos.client import BuildOSClient
from pipeline.buildos.evidence import RUN_LEVEL, valid_listing
from pipeline.buildos.fetch import list_braindumps

if TYPE_CHECKING:  # sync imports this module
    from pipeline.buildos.sync import SyncOptions, SyncResult


async def fetch_account_level(
    client: BuildOSClient,
    stage: landing.AccountStage,
    full: bool,
    options: SyncOptions,
    result: SyncResult,
) -> None:
    """Brain dumps and daily briefs, each a unit of its own: one that fails is recorded and
    the other still lands."""
    for unit, step in (("braindumps", _sync_braindumps), ("briefs", _sync_briefs)):
        try:
            await step(client, stage, full, options, result)
        except RUN_LEVEL:
            raise
        except Exception as error:  # one list fails, the rest lands
            result.fail_unit(unit, None, error)


async def _sync_braindumps(client, stage, full: bool, options, result) -> None:
    con, account_id = stage.con, stage.account_id
    # Brain dumps: newest first; an incremental sync stops a few days before the newest it has.
    known = dict(
        con.execute(
            "select id, epoch_us(updated_at) from buildos.braindumps "
            "where account_id = ? and _removed_at is null",
            [account_id],
        ).fetchall()
    )
    [(newest,)] = con.execute(
        "select max(created_at) from buildos.braindumps where account_id = ?", [account_id]
    ).fetchall()
    cutoff = (
        None if full or newest is None else newest - timedelta(days=options.braindump_lookback_days)
    )
    listed = valid_listing(stage, "braindumps", await list_braindumps(client, cutoff))
    changed = [
        d
        for d in listed
        if d["id"] not in known or detect.epoch_us(d.get("updated_at")) != known.get(d["id"])
    ]

    async def detail(listed_dump: dict) -> None:
        """One brain dump, parsed as soon as it arrives (not once every detail is in)."""
        try:
            answer = await client.get(f"/api/onto/braindumps/{listed_dump['id']}")
        except RUN_LEVEL:
            raise
        except Exception as error:  # this brain dump fails alone
            result.fail_unit("braindump", listed_dump["id"], error)
            return
        stage.add("braindumps", [answer.get("braindump") or {}])

    outcomes = await asyncio.gather(*[detail(d) for d in changed], return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    if full:
        stage.scopes["account_id"] = {account_id}
        stage.seen.extend(("braindumps", d["id"]) for d in listed)
        stage.removal.append(("braindumps", "account_id"))


async def _sync_briefs(client, stage, full: bool, options, result) -> None:
    con, account_id = stage.con, stage.account_id
    # Daily briefs: by date; incremental re-reads the last few days.
    params = {}
    [(last_brief,)] = con.execute(
        "select max(brief_date) from buildos.briefs where account_id = ?", [account_id]
    ).fetchall()
    if not full and last_brief is not None:
        params["start_date"] = (
            last_brief - timedelta(days=options.brief_lookback_days)
        ).isoformat()
    # Parsed page by page, into a group of their own: landed only if the whole list came.
    briefs = landing.Group()
    await client.get_pages(
        "/api/daily-briefs/history",
        "briefs",
        params,
        on_page=lambda page: stage.add("briefs", page, into=briefs),
    )
    stage.adopt(briefs)
