"""Readers of every BI output, each in a process of its own, loop while 20 fan-ins and the
publish after each run: the lake (attached read-only), the Parquet release (exports/current,
views.sql), the serving file and PostgreSQL (the stable bi_ views, in repeatable-read
transactions). None sees an error or a
torn snapshot: per account, the tables of one read name the same release, and the Parquet
release holds what the lake snapshot it names holds (tests/pipeline/release_readers.py).

The writer is the pipeline's own: each round writes hand-made account releases with
pipeline.handoff (tiny marts, every public table present) and runs the Definitions' shared
and publish assets and checks, the publish job's steps.
tests/pipeline/lake/test_concurrent_reader.py does the same for the lake alone, with
commit_accounts and two synthetic tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import sqlalchemy as sa

from assets.accounts import MARTS
from pipeline import handoff
from pipeline.definitions import defs
from pipeline.lake import LakeSettings
from pipeline.partitions import ACCOUNTS as ACCOUNT_PARTITIONS
from pipeline.paths import PROJECT_ROOT
from pipeline.publish.contract import public_tables
from pipeline.resources import DuckDBWarehouse, PublishSettings
from pipeline.runner import QUIET_LOGS
from tests.pipeline import release_readers
from tests.pipeline.release_readers import BASE, as_of, projects_in, sync_of
from tests.services import libpq_url, postgres_database, require_postgres

pytestmark = pytest.mark.postgres

ACCOUNTS, ROUNDS = 4, 20
KINDS = ("lake", "parquet", "serving", "postgres")
READY_SECONDS = 120.0  # a reader's first read, on a loaded machine
# A value of each published type, for the columns a round does not set itself.
FILLERS = {
    "BOOLEAN": False,
    "VARCHAR[]": [],
    "INTEGER": 0,
    "BIGINT": 0,
    "DOUBLE": 0.0,
    "VARCHAR": "-",
}
# the tables whose rows say their round: projects_in(n) rows, as_of_at where they have one
MARKED = {"dim_accounts", "dim_projects", "fct_project_completion", "fct_project_status"}


def hand_made_release(root: Path, account_id: str, number: int) -> dict:
    """Account `account_id`'s release of round `number`, written by pipeline.handoff as the
    release step writes one: every public mart, empty but for dim_accounts, dim_projects,
    fct_project_completion and fct_project_status, whose rows carry the round's marker."""
    moment = as_of(number)
    projects = [str(uuid.uuid5(uuid.UUID(account_id), f"p{i}")) for i in range(3)]
    sync = (sync_of(number), "succeeded", moment, "incremental", moment)
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        con.execute("create schema marts")
        for table in public_tables():
            _fill(con, table, account_id, moment, projects[: projects_in(number)])
        return handoff.write(
            con, root / "accounts" / account_id, account_id, MARTS, sync, f"v{number}"
        )


def _fill(con, table, account_id: str, moment, projects: list[str]) -> None:
    columns = list(table.model.columns)
    con.execute(
        f"create table {table.model.relation} ("
        + ", ".join(f"{c} {table.data_type(c)}" for c in columns)
        + ")"
    )
    if table.name == "dim_dates":
        rows = [{"day_date": (BASE - timedelta(days=d)).date()} for d in range(2)]
        moment = BASE  # the calendar is every account's: the same rows whatever the round
    elif table.name == "dim_accounts":
        rows = [{"account_label": f"account {account_id[:8]}"}]
    elif table.name in MARKED:
        rows = [{"project_id": p, "project_name": f"project {i}"} for i, p in enumerate(projects)]
    else:
        return
    for row in rows:
        values = [_value(table, c, row, account_id, moment) for c in columns]
        con.execute(
            f"insert into {table.model.relation} by name select "
            + ", ".join(f"?::{table.data_type(c)} as {c}" for c in columns),
            values,
        )


def _value(table, column: str, row: dict, account_id: str, moment):
    if column in row:
        return row[column]
    if column == "account_id":
        return account_id
    kind = table.data_type(column)
    if kind == "TIMESTAMP WITH TIME ZONE":
        return moment  # as_of_at among them: the round's marker
    if kind == "DATE":
        return moment.date()
    return FILLERS[kind]


@pytest.fixture
def world(tmp_path):
    """The settings every writer and reader shares: the pipeline's folder, exports, the lake
    (the embedded default beside the shared file: SQLite catalog, local data files; the
    deployed shape's readers are tests/pipeline/lake/test_concurrent_reader.py's) and a
    PostgreSQL database for the publish."""
    require_postgres()
    # a database of its own: the switch waits for every session of its database that holds
    # an old snapshot, and other tests share the test database
    with postgres_database() as publish_url:
        yield {
            "data": tmp_path / "data",
            "exports": tmp_path / "exports",
            "lake": LakeSettings.embedded(tmp_path / "data"),
            "postgres_url": sa.engine.make_url(publish_url)
            .set(drivername="postgresql+psycopg")
            .render_as_string(False),
            "schema": "buildos_analytics",
            # in memory: the fan-in reads the account partitions, the publish its release id
            "instance": dg.DagsterInstance.ephemeral(),
        }


def publish(world: dict) -> dg.ExecuteInProcessResult:
    """The fan-in and the publish: the Definitions' shared and publish groups (the publish
    job's assets and checks, but the at-risk events) on the test's instance."""
    resources = {
        **defs.resources,
        "warehouse": DuckDBWarehouse(path=str(world["data"] / "warehouse.duckdb")),
        "publish": PublishSettings(
            exports_dir=str(world["exports"]),
            postgres_url=world["postgres_url"],
            postgres_schema=world["schema"],
        ),
    }
    return dg.materialize(
        [*defs.assets, *defs.asset_checks],
        resources=resources,
        selection=dg.AssetSelection.groups("shared", "publish"),
        instance=world["instance"],
        run_config=QUIET_LOGS,
    )


def start_settings(world: dict) -> dict:
    """What a reader is told (JSON): where each output is."""
    lake = world["lake"]
    return {
        "lake": {
            name: getattr(lake, name)
            for name in ("catalog", "data_path", "s3_endpoint", "s3_region", "s3_key_id")
        }
        | {"s3_secret": lake.s3_secret},
        "postgres": {"url": libpq_url(world["postgres_url"]), "schema": world["schema"]},
        "exports": str(world["exports"]),
    }


def start_reader(kind: str, world: dict, folder: Path) -> tuple[subprocess.Popen, dict]:
    settings = start_settings(world)
    files = {name: folder / f"{kind}.{name}" for name in ("ready", "stop", "out")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.pipeline.release_readers",
            kind,
            json.dumps(settings),
            *(str(files[n]) for n in ("ready", "stop", "out")),
        ],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    return process, files


def test_readers_of_every_output_see_whole_releases_through_twenty_publishes(world, tmp_path):
    accounts = sorted(str(uuid.uuid4()) for _ in range(ACCOUNTS))
    world["instance"].add_dynamic_partitions(ACCOUNT_PARTITIONS.name, accounts)
    for account_id in accounts:
        hand_made_release(world["data"], account_id, 0)
    assert publish(world).success
    readers = {kind: start_reader(kind, world, tmp_path) for kind in KINDS}
    try:
        deadline = time.monotonic() + READY_SECONDS
        for kind, (process, files) in readers.items():
            while not files["ready"].exists():
                assert process.poll() is None, f"the {kind} reader died before its first read"
                assert time.monotonic() < deadline, f"the {kind} reader did not start"
                time.sleep(0.1)
        for number in range(1, ROUNDS + 1):
            # each round releases half the accounts, so every read mixes old and new
            for account_id in accounts[number % 2 :: 2]:
                hand_made_release(world["data"], account_id, number)
            assert publish(world).success
    finally:
        for _, files in readers.values():
            files["stop"].touch()
        for process, _ in readers.values():
            process.wait(timeout=120)
    seen = {kind: json.loads(files["out"].read_text()) for kind, (_, files) in readers.items()}
    for kind, result in seen.items():
        assert result["reads"] > 0, (kind, result)
        assert (result["errors"], result["torn"], result["went_back"]) == (0, 0, 0), (kind, result)
        # each reader saw the rounds change under it
        assert len(result["rounds"]) > 1, (kind, result)
    # and once the writer is done, every output holds every account's last round
    last = {a: ROUNDS - i % 2 for i, a in enumerate(accounts)}
    settings = start_settings(world)
    for kind, (read, part) in release_readers.READERS.items():
        held = release_readers.open_output(kind, settings)
        assert read(held, settings[part]) == last, kind
