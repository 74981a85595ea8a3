"""Metric tests against the sandbox's ground truth: sync a sandbox, build every model, and hand
back the warehouse with the truth. The expected numbers are computed from the truth with
Polars, never by running the models' SQL."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import polars as pl

from pipeline import warehouse
from pipeline.buildos.client import ClientSettings
from pipeline.buildos.sync import SyncOptions, sync_account
from pipeline.models import build_all
from pipeline.resources import DEFAULT_EFFORT_WEIGHTS
from pipeline.sandbox import SimulationOptions, build_truth, start_sandbox

NOW = datetime(2026, 3, 2, tzinfo=UTC)


@dataclass
class Built:
    con: duckdb.DuckDBPyConnection
    truth: dict
    now: datetime

    @property
    def as_of_date(self) -> date:
        return (self.now - timedelta(microseconds=1)).date()

    def sql(self, query: str) -> pl.DataFrame:
        return self.con.sql(query).pl()


def build_from_sandbox(
    tmp_path: Path,
    options: SimulationOptions | None = None,
    *,
    workspace_file: Path | None = None,
    advance_days: tuple[float, ...] = (),
    weights: dict[str, float] = DEFAULT_EFFORT_WEIGHTS,
) -> Built:
    """Full sync, then (optionally) advance the clock and full-sync again per step, then build.
    Full syncs after each step give the pipeline's history a version per step."""
    db = tmp_path / "warehouse.duckdb"
    con = warehouse.connect(db)
    with start_sandbox(options, workspace_file=workspace_file) as server:
        accounts = server.app.workspace.accounts

        def sync_all():
            for account in accounts:
                settings = ClientSettings(
                    base_url=server.base_url,
                    email=account.email,
                    password=account.password,
                    requests_per_second=0,
                )
                asyncio.run(sync_account(settings, con, SyncOptions(full=True)))

        sync_all()
        for days in advance_days:
            httpx.post(f"{server.base_url}/__sandbox/clock/advance", json={"days": days})
            sync_all()
        truth = build_truth(server.app.workspace)
        now = datetime.fromtimestamp(server.app.workspace.now / 1e6, UTC)
    build_all(con, weights)
    return Built(con=con, truth=truth, now=now)


def parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def truth_frame(built: Built, group: str) -> pl.DataFrame:
    """One row per entity of `group` (tasks, projects, ...) across accounts, with account_id."""
    rows = []
    for account in built.truth["accounts"]:
        for item in account[group]:
            rows.append({"account_id": account["account_id"], **item})
    return pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame()


def task_intervals(built: Built) -> pl.DataFrame:
    """True state intervals of every task, cut at its deletion (what metrics count)."""
    rows = []
    for account in built.truth["accounts"]:
        for task in account["tasks"]:
            deleted = parse(task["deleted_at"])
            for interval in task["state_intervals"]:
                start, end = parse(interval["valid_from"]), parse(interval["valid_to"])
                if deleted is not None:
                    if start >= deleted:
                        continue
                    end = deleted if end is None or end > deleted else end
                rows.append(
                    {
                        "account_id": account["account_id"],
                        "project_id": task["project_id"],
                        "task_id": task["id"],
                        "task_state": interval["state"],
                        "valid_from": start,
                        "valid_to": end,
                    }
                )
    return pl.DataFrame(
        rows,
        schema={
            "account_id": pl.String,
            "project_id": pl.String,
            "task_id": pl.String,
            "task_state": pl.String,
            "valid_from": pl.Datetime("us", "UTC"),
            "valid_to": pl.Datetime("us", "UTC"),
        },
    )


def live_project_ids(built: Built) -> set[str]:
    return {
        p["id"] for a in built.truth["accounts"] for p in a["projects"] if p["deleted_at"] is None
    }
