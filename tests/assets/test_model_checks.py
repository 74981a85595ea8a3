"""The model assets and their checks, run through Dagster exactly as the CLI and UI run them."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from pipeline.definitions import defs
from pipeline.resources import BuildOSResource, DeliverySettings, DuckDBWarehouse, PublishSettings
from pipeline.runner import materialize
from tests.accounts import account_files


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """Every asset materialized against the embedded sandbox (a small workspace)."""
    folder = tmp_path_factory.mktemp("demo")
    path = folder / "warehouse.duckdb"
    result = materialize(
        None,
        {
            "buildos": BuildOSResource(sandbox_seed=3),
            "warehouse": DuckDBWarehouse(path=str(path)),
            "publish": PublishSettings(exports_dir=str(folder / "exports")),
            "deliver": DeliverySettings(dashboard_dir=str(folder / "dashboards")),
        },
    )
    return path, result


def test_every_model_check_passes_on_the_demo_data(demo_db):
    _, result = demo_db
    evaluations = result.get_asset_check_evaluations()
    expected = {(c.asset_key, c.name) for c in defs.resolve_asset_graph().asset_check_keys}
    assert {(e.asset_key, e.check_name) for e in evaluations} == expected
    failed = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed]
    assert failed == []
    assert len(evaluations) > 80


def test_model_assets_report_row_counts(demo_db):
    _, result = demo_db
    counts = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata["row_count"].value
        for e in result.get_asset_materialization_events()
        if "row_count" in e.materialization.metadata
    }
    assert counts["marts/fct_burndown_daily"] > 0
    assert counts["intermediate/int_project_daily_states"] == counts["marts/fct_burndown_daily"]
    # a view is not counted (counting int_task_days would run the task x day expansion)
    assert "intermediate/int_task_days" not in counts


def _broken_copy(demo_db, tmp_path, statement: str) -> tuple[DuckDBWarehouse, str]:
    """A copy of the demo's data folder with `statement` run in the first account's file."""
    source, _ = demo_db
    folder = tmp_path / "data"
    shutil.copytree(source.parent, folder)
    warehouse = DuckDBWarehouse(path=str(folder / source.name))
    account_id = sorted(account_files(warehouse.path))[0]
    con = warehouse.connect_account(account_id)
    con.execute(statement)
    con.close()
    return warehouse, account_id


def test_a_broken_input_fails_the_right_check(demo_db, tmp_path):
    # A state the app does not have, written past the parser (as a bad manual load would be).
    warehouse, account_id = _broken_copy(
        demo_db,
        tmp_path,
        "update buildos.tasks set state_key = 'cancelled' where id = "
        "(select min(id) from buildos.tasks)",
    )
    keys = [["staging", "stg_buildos__tasks"]]
    result = materialize(keys, {"warehouse": warehouse}, raise_on_error=False)
    failed = {
        (e.asset_key.to_user_string(), e.check_name, e.metadata["accounts_failing"].value)
        for e in result.get_asset_check_evaluations()
        if not e.passed
    }
    assert failed == {("staging/stg_buildos__tasks", "task_state__accepted_values", account_id)}


def test_a_failing_check_holds_its_account_back_and_not_the_others(demo_db, tmp_path):
    # A done task without completed_at: the app never writes one.
    warehouse, account_id = _broken_copy(
        demo_db,
        tmp_path,
        "update buildos.tasks set completed_at = null where id = "
        "(select min(id) from buildos.tasks where state_key = 'done')",
    )
    keys = [
        ["staging", "stg_buildos__tasks"],
        ["intermediate", "int_task_state_intervals"],
        ["accounts", "release"],
    ]
    result = materialize(keys, {"warehouse": warehouse}, raise_on_error=False)
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed == ["done_tasks_have_completed_at"]
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "intermediate/int_task_state_intervals" in materialized  # the other accounts go on
    [release] = {
        e.materialization.metadata["held_back_accounts"].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.to_user_string() == "accounts/release"
    }
    assert release.startswith(f"{account_id}: checks failed: staging.stg_buildos__tasks")


def test_every_check_declares_the_models_it_reads():
    """A relationship check reads its target model: it must not run before that model is
    built (dim_goals' check once ran before dim_projects existed)."""
    from assets.models import CHECK_SPECS, MODELS

    reads = {
        (dg.AssetKey([m.schema, m.name]), t.name): {
            dg.AssetKey(list(ref)) for ref in t.refs if ref != (m.schema, m.name)
        }
        for m in MODELS
        for t in m.tests
    }
    declared = {
        (spec.asset_key, spec.name): {dep.asset_key for dep in spec.additional_deps}
        for spec in CHECK_SPECS
    }
    assert declared == reads
    assert reads[(dg.AssetKey(["marts", "dim_goals"]), "project_id__relationships")] == {
        dg.AssetKey(["marts", "dim_projects"])
    }


def test_every_mart_column_shows_its_declared_type_in_the_ui():
    """The UI's column schema carries the .yml's data_type, not a blanket "string"."""
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        if key.path[0] != "marts":
            continue
        spec = defs.get_assets_def(key).specs_by_key[key]
        columns = spec.metadata["dagster/column_schema"].columns
        assert columns, key
        untyped = [c.name for c in columns if c.type in ("unknown", "string")]
        assert not untyped, f"{key.to_user_string()}: {untyped}"
