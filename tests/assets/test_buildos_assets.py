"""The ingest multi-asset `buildos_sync`, run through Dagster from the one Definitions with its
resources pointed at a sandbox and a temporary DuckDB file."""

from __future__ import annotations

import dagster as dg
import orjson

from pipeline import warehouse
from pipeline.buildos.records import ENTITIES
from pipeline.resources import BuildOSResource, DuckDBWarehouse
from pipeline.sandbox import SimulationOptions, dump_workspace, generate_workspace, start_sandbox
from tests.accounts import account_files, materialize, the_account_file
from tests.pipeline.buildos.sync_helpers import NOW, simulation

PASSWORD = "pw-Asset-Secret-6b2f9d"
API_KEY = "boca_asset_secret_0c4e7a"


def _workspace_file(tmp_path, options: SimulationOptions):
    """A simulated workspace whose one account has a password found nowhere else."""
    workspace = dump_workspace(generate_workspace(options))
    [account] = workspace["accounts"]
    account.update(email="owner@example.test", password=PASSWORD, api_key=API_KEY)
    path = tmp_path / "workspace.json"
    path.write_bytes(orjson.dumps(workspace))
    return path


def test_buildos_sync_materializes_every_table_with_its_row_count(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    options = simulation(2, accounts=1, projects=4, tasks=15)
    assert options.now == NOW
    with start_sandbox(workspace_file=_workspace_file(tmp_path, options)) as server:
        result = materialize(
            dg.AssetSelection.groups("buildos"),
            {
                "buildos": BuildOSResource(
                    base_url=server.base_url, email="owner@example.test", password=PASSWORD
                ),
                "warehouse": DuckDBWarehouse(path=str(db)),
            },
            run_config={"ops": {"buildos_sync": {"config": {"full": True}}}},
        )

    assert result.success
    metadata = {
        event.materialization.asset_key.to_user_string(): {
            key: value.value for key, value in event.materialization.metadata.items()
        }
        for event in result.get_asset_materialization_events()
    }
    history = [name for name, spec in ENTITIES.items() if spec.history]
    assert set(metadata) == (
        {f"buildos/{name}" for name in ENTITIES}
        | {f"history/{name}" for name in history}
        | {"meta/sync_runs"}
    )
    con = warehouse.connect(the_account_file(db), read_only=True)
    try:
        counts = {
            table: con.execute(f"select count(*) from {table}").fetchall()[0][0]
            for table in [f"buildos.{n}" for n in ENTITIES] + [f"history.{n}" for n in history]
        }
        [(requests, status)] = con.execute("select requests, status from meta.sync_runs").fetchall()
    finally:
        con.close()
    assert counts["buildos.tasks"] > 0
    for table, count in counts.items():
        assert metadata[table.replace(".", "/")]["row_count"] == count, table
    assert metadata["buildos/tasks"]["received_this_run"] == counts["buildos.tasks"]
    run = metadata["meta/sync_runs"]
    assert (run["accounts"], run["modes"], run["quarantined"]) == (1, "full", 0)
    assert (run["requests"], status) == (requests, "succeeded")

    # The password is in no metadata and no event of the run.
    events = repr([event.event_specific_data for event in result.all_events])
    for text in (repr(metadata), events):
        assert PASSWORD not in text and API_KEY not in text


def test_a_wrong_password_fails_its_account_and_not_the_next(tmp_path):
    """Issue 10, case 4, through the asset: the good account lands, the check names the bad."""
    db = tmp_path / "warehouse.duckdb"
    options = simulation(5, accounts=2, projects=3, tasks=10)
    with start_sandbox(options) as server:
        good, bad = server.app.workspace.accounts
        entries = [
            {"account_id": bad.id, "email": bad.email, "password": "not-the-password"},
            {"account_id": good.id, "email": good.email, "password": good.password},
        ]
        result = materialize(
            dg.AssetSelection.groups("buildos"),
            {
                "buildos": BuildOSResource(
                    base_url=server.base_url, accounts_json=orjson.dumps(entries).decode()
                ),
                "warehouse": DuckDBWarehouse(path=str(db)),
            },
        )
    assert result.success  # one account's failure is not the run's
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "sync_succeeded" and not check.passed
    assert check.metadata["unsettled_accounts"].value == f"{bad.id}: failed"
    con = warehouse.connect(account_files(db)[good.id], read_only=True)
    try:
        [(tasks,)] = con.execute("select count(*) from buildos.tasks").fetchall()
    finally:
        con.close()
    assert tasks > 0
    assert "not-the-password" not in repr([e.event_specific_data for e in result.all_events])
