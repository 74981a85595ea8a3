"""Syncing several accounts: at most `account_concurrency` at once, each with its own session
and its own DuckDB connection (its own file, or a cursor on one shared file), under one
deployment gate; one account's failure never stops the others."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from contextlib import AbstractContextManager, closing

import duckdb

from pipeline import warehouse
from pipeline.buildos import landing
from pipeline.buildos.client import ClientSettings
from pipeline.buildos.politeness import DeploymentGate, DeploymentLimits
from pipeline.buildos.sync import Progress, SyncOptions, SyncResult, sync_account


def run_sync(
    accounts: list[tuple[ClientSettings, str | None]],
    con: duckdb.DuckDBPyConnection,
    options: SyncOptions = SyncOptions(),
    progress: Progress | None = None,
    limits: DeploymentLimits | None = None,
) -> list[SyncResult]:
    """Sync every account into the one database of `con`, each on its own cursor (accounts
    never share rows), merging one at a time. Every account runs to its end; then the first
    failure, if any, is raised."""
    landing.ensure_tables(con)
    outcomes = sync_accounts(
        accounts,
        lambda _account_id: closing(warehouse.cursor(con)),
        options,
        progress,
        limits,
        shared_database=True,
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return list(outcomes)


def sync_accounts(
    accounts: list[tuple[ClientSettings, str | None]],
    open_account: Callable[[str | None], AbstractContextManager[duckdb.DuckDBPyConnection]],
    options: SyncOptions = SyncOptions(),
    progress: Progress | None = None,
    limits: DeploymentLimits | None = None,
    full_for: Callable[[str | None], bool] | None = None,
    fleet=None,
    shared_database: bool = False,
) -> list[SyncResult | BaseException]:
    """Sync each account into the connection `open_account(account_id)` gives (its own file,
    or a cursor on a shared one), `options.account_concurrency` at a time, under one
    deployment gate. `full_for(account_id)` may ask a full reconciliation of one account.
    `fleet` is the request budget shared by every worker (pipeline.fleet), if any.
    `shared_database`: every account lands in one database (`run_sync`), which then keeps
    one database's memory limit; otherwise the accounts syncing at once share
    `options.duckdb_memory_mb`. Every account runs to its end; each one's result or error is
    returned in order."""
    gate = DeploymentGate(limits or DeploymentLimits(), fleet=fleet)
    at_once = 1 if shared_database else min(max(options.account_concurrency, 1), len(accounts))
    return asyncio.run(
        _run_accounts(accounts, open_account, options, progress, gate, full_for, at_once)
    )


async def _run_accounts(accounts, open_account, options, progress, gate, full_for, at_once):
    slots = asyncio.Semaphore(max(options.account_concurrency, 1))
    merge_lock = asyncio.Lock()  # merges on one machine's cores would only queue

    async def one(settings: ClientSettings, account_id: str | None) -> SyncResult:
        account_options = dataclasses.replace(
            options,
            account_id=account_id or options.account_id,
            full=options.full or bool(full_for and full_for(account_id)),
        )
        async with slots:
            with open_account(account_id) as con:
                return await sync_account(
                    settings,
                    con,
                    account_options,
                    progress,
                    gate=gate,
                    merge_lock=merge_lock,
                    databases_at_once=at_once,
                )

    return await asyncio.gather(
        *[one(settings, account_id) for settings, account_id in accounts], return_exceptions=True
    )
