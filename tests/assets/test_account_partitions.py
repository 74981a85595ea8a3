"""Accounts as partitions: each account's steps in its own file, the shared file gathering
every account's release, and what it must equal: the same sandbox synced and modelled in one
file (the single-process shape the metric tests check against the sandbox's truth)."""

from __future__ import annotations

import shutil

import pytest

from pipeline import handoff, model_schedule, warehouse
from pipeline.buildos.accounts import run_sync
from pipeline.models import load_models
from pipeline.resources import (
    DEFAULT_EFFORT_WEIGHTS,
    BuildOSResource,
    DuckDBWarehouse,
    PublishSettings,
)
from pipeline.runner import materialize
from pipeline.sandbox import SimulationOptions, start_sandbox
from tests.accounts import account_files
from tests.cluster import marts_difference

SEED = 3
# When the pipeline ran, not what the data says: the only columns that differ by run.
RUN_TIME_COLUMNS = {"first_synced_at", "last_synced_at"}
ACCOUNT_GROUPS = ["buildos", "staging", "intermediate", "marts", "accounts", "shared"]


def _keys(groups):
    from pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return [k.path for k in graph.get_all_asset_keys() if graph.get(k).group_name in groups]


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory):
    folder = tmp_path_factory.mktemp("partitioned")
    db = folder / "data" / "warehouse.duckdb"
    resources = {
        "buildos": BuildOSResource(sandbox_seed=SEED),
        "warehouse": DuckDBWarehouse(path=str(db)),
        "publish": PublishSettings(exports_dir=str(folder / "exports")),
    }
    first = materialize(_keys(ACCOUNT_GROUPS), resources)
    return db, resources, first


@pytest.fixture(scope="module")
def single_file(tmp_path_factory):
    """The same sandbox, every account synced and modelled in one file."""
    path = tmp_path_factory.mktemp("single") / "warehouse.duckdb"
    con = warehouse.connect(path)
    with start_sandbox(SimulationOptions(seed=SEED)) as server:
        accounts = [
            (
                BuildOSResource()._settings(
                    server.base_url, {"email": a.email, "password": a.password}
                ),
                a.id,
            )
            for a in server.app.workspace.accounts
        ]
        run_sync(accounts, con)
    model_schedule.build_all(con, dict(DEFAULT_EFFORT_WEIGHTS))
    con.close()
    return path


def _columns(con, catalog: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from duckdb_columns() where database_name = ? and "
            "schema_name = 'marts' and table_name = ? order by column_index",
            [catalog, table],
        ).fetchall()
        if name not in RUN_TIME_COLUMNS
    ]


def test_each_account_has_its_own_file_holding_only_its_rows(partitioned):
    db, _, _ = partitioned
    files = account_files(db)
    assert len(files) == 3
    for account_id, path in files.items():
        con = warehouse.connect(path, read_only=True)
        try:
            for table in ("buildos.tasks", "buildos.projects", "marts.fct_burndown_daily"):
                ids = {
                    r[0] for r in con.execute(f"select distinct account_id from {table}").fetchall()
                }
                assert ids == {account_id}, table
        finally:
            con.close()
        manifest = handoff.current(path.parent)
        assert manifest["account_id"] == account_id and manifest["sync_status"] == "succeeded"


def test_the_shared_marts_equal_one_file_of_every_account(partitioned, single_file):
    db, _, _ = partitioned
    assert marts_difference(db, single_file) == {}
    con = warehouse.connect(db, read_only=True)
    try:
        [(accounts,)] = con.execute("select count(*) from meta.account_releases").fetchall()
    finally:
        con.close()
    assert accounts == 3


def test_a_second_cycle_that_changed_nothing_releases_and_loads_nothing(partitioned):
    _db, resources, _ = partitioned
    again = materialize(_keys(ACCOUNT_GROUPS), resources)
    release = _metadata(again, "accounts/release")
    assert (release["released"], release["unchanged"], release["held_back"]) == (0, 3, 0)
    assert _metadata(again, "shared/account_releases")["loaded"] == 0
    builds = {
        key: meta["build"] for key, meta in _all_metadata(again).items() if key.startswith("marts/")
    }
    assert set(builds.values()) == {"unchanged: 3"}


def test_an_account_whose_checks_fail_keeps_its_last_release(partitioned, tmp_path):
    db, resources, _ = partitioned
    copy = tmp_path / "data"
    shutil.copytree(db.parent, copy)
    shared = copy / "warehouse.duckdb"
    files = account_files(shared)
    bad = sorted(files)[0]
    before = handoff.current(files[bad].parent)["release_id"]
    con = warehouse.connect(files[bad])
    # A done task without completed_at (the app never writes one), past the parser.
    con.execute(
        "update buildos.tasks set completed_at = null, payload_hash = 'changed' where id = "
        "(select min(id) from buildos.tasks where state_key = 'done')"
    )
    con.close()
    result = materialize(
        _keys(["staging", "intermediate", "marts", "accounts", "shared"]),
        {**resources, "warehouse": DuckDBWarehouse(path=str(shared))},
        raise_on_error=False,
    )
    failing = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert {e.check_name for e in failing} == {"done_tasks_have_completed_at"}
    assert bad in failing[0].metadata["accounts_failing"].value
    release = _metadata(result, "accounts/release")
    assert release["held_back"] == 1 and bad in release["held_back_accounts"]
    assert handoff.current(files[bad].parent)["release_id"] == before
    con = warehouse.connect(shared, read_only=True)
    try:
        [(held,)] = con.execute(
            "select release_id from meta.account_releases where account_id = ?", [bad]
        ).fetchall()
    finally:
        con.close()
    assert held == before


def _all_metadata(result) -> dict[str, dict]:
    return {
        e.materialization.asset_key.to_user_string(): {
            k: v.value for k, v in e.materialization.metadata.items()
        }
        for e in result.get_asset_materialization_events()
    }


def _metadata(result, key: str) -> dict:
    return _all_metadata(result)[key]


def test_an_account_whose_latest_sync_is_partial_is_held_back_unless_allowed(partitioned, tmp_path):
    db, resources, _ = partitioned
    copy = tmp_path / "data"
    shutil.copytree(db.parent, copy)
    shared = copy / "warehouse.duckdb"
    files = account_files(shared)
    partial = sorted(files)[1]
    con = warehouse.connect(files[partial])
    # The account's latest sync missed a project (what a partial run records).
    con.execute(
        "insert into meta.sync_runs by name select * replace ("
        "'partial-run' as sync_id, 'partial' as status, now() as started_at, "
        "now() as finished_at) from meta.sync_runs limit 1"
    )
    # ... and what it did land changed a project (so a new release is due).
    con.execute(
        "update buildos.projects set name = name || ' (renamed)', payload_hash = 'changed' "
        "where id = (select min(id) from buildos.projects)"
    )
    con.close()
    keys = _keys(["staging", "intermediate", "marts", "accounts"])
    held = materialize(keys, {**resources, "warehouse": DuckDBWarehouse(path=str(shared))})
    release = _metadata(held, "accounts/release")
    assert release["held_back"] == 1
    assert f"{partial}: its latest sync partial-run is partial" in release["held_back_accounts"]

    allowed = materialize(
        keys,
        {**resources, "warehouse": DuckDBWarehouse(path=str(shared))},
        {"ops": {"accounts__release": {"config": {"allow_partial": True}}}},
    )
    assert _metadata(allowed, "accounts/release")["held_back"] == 0
    manifest = handoff.current(files[partial].parent)
    assert (manifest["sync_id"], manifest["sync_status"]) == ("partial-run", "partial")


def test_the_lake_holds_the_same_marts_and_names_each_accounts_release(partitioned, single_file):
    from pipeline.lake import LakeSettings, attach, current_snapshot

    db, _, _ = partitioned
    settings = LakeSettings.from_env(env={}, data_root=db.parent)
    snapshot = current_snapshot(settings)
    assert sorted(snapshot.accounts) == sorted(account_files(db))
    for account_id, held in snapshot.accounts.items():
        assert (
            held.release_id == handoff.current(account_files(db)[account_id].parent)["release_id"]
        )
    con = warehouse.connect(db, read_only=True)
    attach(con, settings, snapshot=snapshot.snapshot_id)
    con.execute(f"attach '{single_file}' as single (read_only)")
    try:
        [(pinned,)] = con.execute("select snapshot_id from meta.lake_snapshot").fetchall()
        assert pinned == snapshot.snapshot_id  # the shared file names the lake snapshot
        for table in [m.name for m in load_models() if m.layer == "marts"]:
            columns = _columns(con, "single", table)
            select = ", ".join(f'"{c}"' for c in columns)
            for a, b in (("lake", "single"), ("single", "lake")):
                [(extra,)] = con.execute(
                    f"select count(*) from (select {select} from {a}.marts.{table} "
                    f"except all select {select} from {b}.marts.{table})"
                ).fetchall()
                assert extra == 0, f"{table}: {extra} rows of {a} not in {b}"
    finally:
        con.close()
