"""A release's Parquet files hold exactly the marts, described by its manifest, partitioned and
compressed as documented; its views.sql rebuilds the bi views from the Parquet alone."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from polars.testing import assert_frame_equal

from pipeline import warehouse
from pipeline.publish.contract import DAY_COLUMN, SCHEMA_VERSION, public_tables
from pipeline.publish.serving import SERVING_FILE
from tests.pipeline.publish.publish_helpers import (
    parquet_source,
    publish_db,
    publish_files,
    sorted_frame,
)


@pytest.fixture
def published(pipeline_db, tmp_path) -> tuple[Path, Path, dict]:
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root)
    return pipeline_db, root, manifest


def test_parquet_equals_the_marts(published):
    db, root, manifest = published
    release = root / "releases" / manifest["release_id"]
    assert (root / "current").resolve() == release.resolve()
    con = warehouse.connect(db, read_only=True)
    try:
        assert set(manifest["tables"]) == {t.name for t in public_tables()}
        for name, spec in manifest["tables"].items():
            columns = [c["name"] for c in spec["columns"]]
            exported = sorted_frame(con, parquet_source(release, spec), columns)
            mart = sorted_frame(con, f"marts.{name}", columns)
            assert_frame_equal(exported, mart, check_exact=True)
            assert spec["rows"] == mart.height
    finally:
        con.close()


def test_the_manifest_describes_the_release(published):
    db, _, manifest = published
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert isinstance(manifest["schema_version"], int)
    assert datetime.fromisoformat(manifest["generated_at"]).tzinfo is not None
    assert manifest["include_free_text"] is False
    assert manifest["account_id"] is None
    con = warehouse.connect(db, read_only=True)
    try:
        # The shared file names the release, and so the sync, each account's rows come from.
        syncs = con.execute(
            "select account_id, sync_id from meta.account_releases where sync_status = 'succeeded'"
        ).fetchall()
        [(snapshot,)] = con.execute("select snapshot_id from meta.lake_snapshot").fetchall()
        for name, spec in manifest["tables"].items():
            types = dict(
                (row[0], row[1]) for row in con.execute(f"describe marts.{name}").fetchall()
            )
            free = set(next(t for t in public_tables() if t.name == name).model.free_text)
            assert [c["name"] for c in spec["columns"]] == [n for n in types if n not in free]
            assert all(c["type"] == types[c["name"]] for c in spec["columns"])
            assert spec["description"]
            count = con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
            assert spec["rows"] == count
    finally:
        con.close()
    accounts = {account for account, _ in syncs}
    assert len(manifest["source"]) == len(accounts) == 3
    assert manifest["lake_snapshot"] == snapshot
    for source in manifest["source"]:
        assert (source["account_id"], source["sync_id"]) in syncs
        assert source["mode"] in ("full", "incremental")
        assert source["as_of_at"]


def test_daily_facts_are_partitioned_by_month_and_files_are_zstd(published):
    _, root, manifest = published
    release = root / "releases" / manifest["release_id"]
    daily = {t.name for t in public_tables() if DAY_COLUMN in t.model.columns}
    assert {"fct_burndown_daily", "fct_flow_daily"} <= daily
    for name, spec in manifest["tables"].items():
        if name not in daily:
            assert spec["partitioned_by"] is None
            assert (release / f"{name}.parquet").is_file()
            continue
        assert spec["partitioned_by"] == "month"
        folders = sorted((release / name).iterdir())
        assert folders and all(f.name.startswith("month=") for f in folders)
        for folder in folders:
            month = folder.name.removeprefix("month=")
            for file in folder.glob("*.parquet"):
                days = pq.read_table(file, columns=[DAY_COLUMN]).column(0).to_pylist()
                assert days and all(isinstance(d, date) for d in days)
                assert {d.strftime("%Y-%m") for d in days} == {month}
    files = sorted(release.rglob("*.parquet"))
    assert len(files) > len(manifest["tables"])
    for file in files:
        metadata = pq.ParquetFile(file).metadata
        assert metadata.row_group(0).column(0).compression == "ZSTD"
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            for column in range(row_group.num_columns):
                assert row_group.column(column).compression == "ZSTD", file


def test_views_sql_over_parquet_equals_the_bi_views(published, monkeypatch):
    db, root, manifest = published
    con = warehouse.connect(db, read_only=True)
    portable = duckdb.connect()
    try:
        monkeypatch.chdir(root / "current")
        portable.execute(Path("views.sql").read_text())
        views = {
            row[0]
            for row in portable.execute(
                "select view_name from duckdb_views() where schema_name = 'bi'"
            ).fetchall()
        }
        assert views == set(manifest["tables"])
        for name, spec in manifest["tables"].items():
            columns = [c["name"] for c in spec["columns"]]
            if "account_id" in columns and name != "dim_accounts":
                columns.append("account_label")  # every bi view with an account shows its label
            described = [row[0] for row in portable.execute(f"describe bi.{name}").fetchall()]
            assert described == columns
            assert_frame_equal(
                sorted_frame(portable, f"bi.{name}", columns),
                sorted_frame(con, f"bi.{name}", columns),
                check_exact=True,
            )
        comment = portable.execute(
            "select comment from duckdb_views() where schema_name = 'bi' "
            "and view_name = 'fct_velocity_weekly'"
        ).fetchall()[0][0]
        assert "Grain:" in comment
    finally:
        portable.close()
        con.close()


def test_an_empty_daily_fact_still_has_a_typed_view(pipeline_db, tmp_path, monkeypatch):
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        con.execute("delete from marts.fct_flow_daily")
        manifest = publish_files(con, root)
        expected = con.execute("describe marts.fct_flow_daily").fetchall()
    finally:
        con.close()
    assert manifest["tables"]["fct_flow_daily"]["rows"] == 0
    # the bi view adds the account label after the mart's columns
    types = [(row[0], row[1]) for row in expected] + [("account_label", "VARCHAR")]
    serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
    portable = duckdb.connect()
    try:
        assert serving.execute("select count(*) from bi.fct_flow_daily").fetchall() == [(0,)]
        monkeypatch.chdir(root / "current")
        portable.execute(Path("views.sql").read_text())
        assert portable.execute("select count(*) from bi.fct_flow_daily").fetchall() == [(0,)]
        described = portable.execute("describe bi.fct_flow_daily").fetchall()
        assert [(row[0], row[1]) for row in described] == types
    finally:
        portable.close()
        serving.close()


def test_the_serving_file_holds_the_release(published):
    db, root, manifest = published
    con = warehouse.connect(db, read_only=True)
    serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
    try:
        release = serving.execute("select release_id, schema_version from meta.release").fetchall()
        assert release == [(manifest["release_id"], SCHEMA_VERSION)]
        for name, spec in manifest["tables"].items():
            columns = [c["name"] for c in spec["columns"]]
            assert_frame_equal(
                sorted_frame(serving, f"bi.{name}", columns),
                sorted_frame(con, f"marts.{name}", columns),
                check_exact=True,
            )
    finally:
        serving.close()
        con.close()
