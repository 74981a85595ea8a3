"""Incremental by account: after a sync, only the accounts whose inputs changed are rebuilt,
a refresh that changed nothing rebuilds nothing, and the result equals a full build."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil

import httpx
import pytest

from pipeline import warehouse
from pipeline.buildos.client import ClientSettings
from pipeline.buildos.sync import SyncOptions, sync_account
from pipeline.model_build import configure
from pipeline.model_schedule import build_all, build_models
from pipeline.models import load_models
from pipeline.resources import DEFAULT_EFFORT_WEIGHTS
from pipeline.sandbox import SimulationOptions, start_sandbox
from tests.models.truth import NOW

OPTIONS = SimulationOptions(
    seed=4, accounts=3, projects_per_account=3, tasks_per_project=15, days=40, now=NOW
)


def _sync(server, con, accounts, full: bool) -> None:
    for account in accounts:
        settings = ClientSettings(
            base_url=server.base_url,
            email=account.email,
            password=account.password,
            requests_per_second=0,
        )
        asyncio.run(sync_account(settings, con, SyncOptions(full=full)))


def _tables(results) -> list[str]:
    return [relation for relation, result in results.items() if result.mode != "view"]


def _differences(con, relation: str, other: str) -> int:
    return con.execute(
        f"select (select count(*) from (select * from {relation} except all "
        f"select * from {other}.{relation})) + (select count(*) from (select * from "
        f"{other}.{relation} except all select * from {relation}))"
    ).fetchall()[0][0]


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """A warehouse built after a first sync, then synced again half a day later."""
    folder = tmp_path_factory.mktemp("incremental")
    db = folder / "warehouse.duckdb"
    con = warehouse.connect(db)
    with start_sandbox(OPTIONS) as server:
        accounts = server.app.workspace.accounts
        _sync(server, con, accounts, full=True)
        first = build_all(con, DEFAULT_EFFORT_WEIGHTS)
        again = build_all(con, DEFAULT_EFFORT_WEIGHTS)
        httpx.post(f"{server.base_url}/__sandbox/clock/advance", json={"days": 0.5})
        _sync(server, con, accounts, full=False)
        after_sync = build_all(con, DEFAULT_EFFORT_WEIGHTS)
    yield con, db, first, again, after_sync
    con.close()


def test_a_refresh_that_changed_nothing_rebuilds_nothing(history):
    _, _, first, again, _ = history
    assert {first[r].mode for r in _tables(first)} == {"full"}
    assert {again[r].mode for r in _tables(again)} == {"unchanged"}
    assert sum(r.accounts_rebuilt for r in again.values()) == 0


def _copy_of(con, db, path):
    """A connection to a copy of `db` at `path`, with everything `con` wrote in it."""
    con.execute("checkpoint")
    shutil.copy(db, path)
    return warehouse.connect(path)


def _assert_same_tables(con, copy, relations) -> None:
    """Every relation in `con` equals the same relation in the database file `copy`."""
    con.execute(f"attach '{copy}' as other_build (read_only)")
    try:
        for relation in relations:
            assert _differences(con, relation, "other_build") == 0, relation
    finally:
        con.execute("detach other_build")


def _assert_equals_a_full_build(con, db, tmp_path, relations) -> None:
    """Every relation as built incrementally in `con` equals a full build of a copy of `db`."""
    full = _copy_of(con, db, tmp_path / "full.duckdb")
    build_all(full, DEFAULT_EFFORT_WEIGHTS, full=True)
    full.close()
    _assert_same_tables(con, tmp_path / "full.duckdb", relations)


def test_after_a_sync_the_incremental_build_equals_a_full_build(history, tmp_path):
    con, db, _, _, after_sync = history
    rebuilt = {r.mode for r in after_sync.values()}
    assert rebuilt & {"accounts", "full"}, "the sync changed something"
    _assert_equals_a_full_build(con, db, tmp_path, _tables(after_sync))


def test_only_the_changed_account_is_rebuilt_and_it_equals_a_full_build(history, tmp_path):
    con, db, *_ = history
    # a task reopened in one account, with no new as-of day: that account alone is stale
    (account,) = con.execute(
        "select min(account_id) from buildos.tasks where state_key = 'done'"
    ).fetchall()[0]
    con.execute(
        "update buildos.tasks set state_key = 'todo', completed_at = null, "
        "updated_at = updated_at + interval 1 second, payload_hash = payload_hash || '-reopened' "
        "where account_id = ? and id = (select min(id) from buildos.tasks where account_id = ? "
        "and state_key = 'done')",
        [account, account],
    )
    results = build_all(con, DEFAULT_EFFORT_WEIGHTS)
    per_account = [r for r in results.values() if r.mode == "accounts"]
    assert per_account and {r.accounts_rebuilt for r in per_account} == {1}
    assert results["marts.fct_burndown_daily"].mode == "accounts"
    # what has no account (the calendar) is small and rebuilt whole
    assert results["marts.dim_dates"].mode == "full"
    _assert_equals_a_full_build(con, db, tmp_path, _tables(results))


def test_an_account_that_is_gone_leaves_every_model(tmp_path, history):
    con, db, *_ = history
    other = _copy_of(con, db, tmp_path / "gone.duckdb")
    (account,) = other.execute("select min(account_id) from buildos.projects").fetchall()[0]
    for (relation,) in other.execute(
        "select schema_name || '.' || table_name from duckdb_columns() "
        "where column_name = 'account_id' and schema_name in ('buildos', 'history', 'meta') "
        "and table_name not in ('account_fingerprints', 'model_state')"
    ).fetchall():
        other.execute(f"delete from {relation} where account_id = ?", [account])
    results = build_all(other, DEFAULT_EFFORT_WEIGHTS)
    assert any(r.accounts_removed == 1 for r in results.values())
    for relation in _tables(results):
        if "account_id" in [c[0] for c in other.execute(f"describe {relation}").fetchall()]:
            left = other.execute(
                f"select count(*) from {relation} where account_id = ?", [account]
            ).fetchall()[0][0]
            assert left == 0, relation
    other.close()


def test_models_built_side_by_side_equal_models_built_one_after_another(tmp_path, history):
    con, db, *_ = history
    other = _copy_of(con, db, tmp_path / "one_by_one.duckdb")
    results = build_models(other, load_models(), full=True, workers=1)
    other.close()
    side_by_side = build_models(con, load_models(), full=True, workers=2)
    assert {r.mode for r in side_by_side.values()} == {"full", "view"}
    _assert_same_tables(con, tmp_path / "one_by_one.duckdb", _tables(results))


def test_a_model_that_fails_stops_what_reads_it_and_the_others_are_kept(tmp_path, history):
    con, db, *_ = history
    other = _copy_of(con, db, tmp_path / "broken.duckdb")
    broken = "int_task_state_intervals"
    models = [
        dataclasses.replace(m, sql="select error('a broken model')") if m.name == broken else m
        for m in load_models()
    ]
    built: list[str] = []
    with pytest.raises(Exception, match="a broken model"):
        build_models(
            other, models, full=True, built=lambda model, _result: built.append(model.name)
        )
    assert broken not in built
    assert "int_task_effort_intervals" in built  # it does not read the broken model
    readers = {"int_project_daily_states", "fct_task_flow", "fct_wip_aging", "fct_burndown_daily"}
    assert not readers & set(built)
    # the broken model's transaction rolled back: its previous table and version stand, like
    # those of the models it held back, so the fixed models have nothing left to rebuild
    assert other.execute(f"select count(*) from intermediate.{broken}").fetchall()[0][0] > 0
    again = build_models(other, load_models())
    assert {r.mode for r in again.values()} == {"unchanged"}
    other.close()


def test_memory_limit_and_spill_directory_are_set_from_configuration(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    configure(con, "700MiB", tmp_path / "spill")
    limit, spill = con.execute(
        "select current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    assert limit in ("700.0 MiB", "734.0 MB") and spill == str(tmp_path / "spill")
    configure(con)  # the default: a share of the machine, spilling beside the database file
    limit, spill = con.execute(
        "select current_setting('memory_limit'), current_setting('temp_directory')"
    ).fetchall()[0]
    assert spill == str(tmp_path / "w.duckdb") + ".tmp"
    assert limit != "700.0 MiB"
    con.close()
