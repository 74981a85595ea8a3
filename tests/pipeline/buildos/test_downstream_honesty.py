"""Downstream honesty: `build` and `publish` refuse accounts whose latest sync is not whole,
the manifest names each account's sync and its status, and account ids never make a path
outside the exports folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from pipeline import safety, warehouse
from pipeline.buildos import landing
from pipeline.buildos.runs import SyncRun, record_run, unsettled_accounts
from pipeline.cli import main

GOOD = "11111111-1111-4111-8111-111111111111"
PARTIAL = "22222222-2222-4222-8222-222222222222"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _warehouse(path, runs: list[tuple[str, str, int]]):
    con = warehouse.connect(path)
    landing.ensure_tables(con)
    for index, (account, status, minutes) in enumerate(runs):
        run = SyncRun(f"s{index}", account, "full", "running", T0 + timedelta(minutes=minutes))
        record_run(con, run if status == "running" else run.finish(status, f"why {index}"))
    return con


def test_the_latest_finished_sync_of_each_account_decides(tmp_path):
    con = _warehouse(
        tmp_path / "w.duckdb",
        [
            (GOOD, "partial", 0),
            (GOOD, "succeeded", 1),  # a later success settles it
            (GOOD, "running", 2),  # still running: not counted
            (PARTIAL, "succeeded", 0),
            (PARTIAL, "partial", 1),
        ],
    )
    try:
        assert unsettled_accounts(con) == [(PARTIAL, "s4", "partial", "why 4")]
    finally:
        con.close()


@pytest.mark.parametrize("command", ["build", "publish"])
def test_build_and_publish_refuse_an_account_whose_latest_sync_is_partial(tmp_path, command):
    db = tmp_path / "w.duckdb"
    # Each account's syncs are in its own work file, beside the shared file.
    for account, status in ((GOOD, "succeeded"), (PARTIAL, "partial")):
        path = safety.account_root(tmp_path, account) / "warehouse.duckdb"
        _warehouse(path, [(account, "succeeded", 0), (account, status, 1)]).close()
    args = [command, "--db", str(db)]
    if command == "publish":
        args += ["--exports", str(tmp_path / "exports")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert f"{command} refused" in result.output
    assert f"account {PARTIAL}: sync s1 partial (why 1)" in result.output
    assert GOOD not in result.output
    assert "--allow-partial" in result.output
    assert not (tmp_path / "exports").exists()


def test_account_ids_are_validated_before_they_make_a_path(tmp_path):
    assert safety.account_root(tmp_path, GOOD) == (tmp_path / "accounts" / GOOD).resolve()
    for bad in ("../../x", "", None, GOOD.upper() + "/..", "not-a-uuid"):
        with pytest.raises(safety.UnsafePathError):
            safety.account_root(tmp_path, bad)
    with pytest.raises(safety.UnsafePathError):
        safety.inside(tmp_path, "releases", "../../escape")
    (tmp_path / "outside").mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path / "outside")
    with pytest.raises(safety.UnsafePathError):
        safety.inside(tmp_path / "root", "link", "file")


def test_leftovers_of_a_killed_publish_are_removed(tmp_path):
    (tmp_path / ".building-1" / "t").mkdir(parents=True)
    (tmp_path / ".analytics.duckdb.building-2").write_text("half")
    (tmp_path / "kept").mkdir()
    removed = safety.remove_leftovers(tmp_path)
    assert sorted(p.name for p in removed) == [".analytics.duckdb.building-2", ".building-1"]
    assert [p.name for p in tmp_path.iterdir()] == ["kept"]


class _Event:
    def __init__(self, step_key=None, failure=False, key=None):
        self.step_key, self.is_step_failure = step_key, failure
        self.step_failure_data = type("F", (), {"error": None})()  # no error text to add
        self.materialization = type("M", (), {"asset_key": key})()


class _Key:
    def __init__(self, text):
        self.text = text

    def to_user_string(self):
        return self.text


class _Result:
    """The parts of a Dagster run result the publish message reads."""

    def __init__(self, done: list[str], failed_step: str):
        self.done, self.failed_step = done, failed_step

    def get_asset_materialization_events(self):
        return [_Event(key=_Key(k)) for k in self.done]

    @property
    def all_events(self):
        return [_Event(step_key=self.failed_step, failure=True)]

    def get_asset_check_evaluations(self):
        return []


def test_the_publish_message_names_the_failed_step_and_what_bi_tools_see():
    from pipeline.summary import publish_failure

    after_swap = _Result(["exports/release", "exports/current", "exports/analytics_duckdb"], "pg")
    assert publish_failure(after_swap) == (
        "publishing stopped at pg (see above); already published before it: exports/current, "
        "exports/analytics_duckdb (BI tools reading those see the new release)"
    )
    before_swap = _Result(["exports/release"], "exports_current")
    assert publish_failure(before_swap) == (
        "publishing stopped at exports_current (see above); BI tools still see the previous release"
    )


def test_the_postgresql_copy_strips_nul_from_text_and_json():
    import duckdb

    from pipeline.publish.postgres_rows import select_for_copy

    con = duckdb.connect()
    con.execute(
        "create table t as select 'Na' || chr(0) || 'me' as name, "
        "{'k': 'v' || chr(0)}::json as props, 3 as n"
    )
    select = select_for_copy(
        ["name", "props", "n"], {"name": "VARCHAR", "props": "JSON", "n": "INTEGER"}
    )
    [(name, props, n)] = con.execute(f"select {select} from t").fetchall()
    assert (name, n) == ("Name", 3)
    assert "\x00" not in props and "\\u0000" not in props
