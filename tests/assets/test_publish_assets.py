"""The publish assets and their blocking checks, run through Dagster as the CLI and UI run them:
per-account exports, and a schema break that stops every swap BI tools would see."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
import sqlalchemy as sa
from polars.testing import assert_frame_equal

from pipeline.publish import exports, postgres
from pipeline.publish.serving import SERVING_FILE
from pipeline.resources import DuckDBWarehouse, PublishSettings
from pipeline.runner import materialize
from tests.pipeline.publish.publish_helpers import (
    POSTGRES_URL,
    copy_warehouse,
    demo_warehouse,
    parquet_source,
    publish_keys,
    schema_names,
    scratch_schema,
    sorted_frame,
)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return demo_warehouse(tmp_path_factory)


def _publish(db: Path, settings: PublishSettings, raise_on_error: bool = True):
    return materialize(
        publish_keys(),
        {"warehouse": DuckDBWarehouse(path=str(db)), "publish": settings},
        raise_on_error=raise_on_error,
    )


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_per_account_exports_hold_only_their_account(demo_db, tmp_path):
    db = copy_warehouse(demo_db, tmp_path / "pipeline")
    root = tmp_path / "exports"
    result = _publish(db, PublishSettings(exports_dir=str(root), per_account=True))
    assert result.success
    manifest = exports.current_manifest(root)
    con = duckdb.connect()
    try:
        accounts = [
            row[0]
            for row in con.execute(
                f"select distinct account_id from "
                f"{parquet_source(root / 'current', manifest['tables']['dim_projects'])}"
            ).fetchall()
        ]
        assert len(accounts) == 3
        assert sorted(p.name for p in (root / "accounts").iterdir()) == sorted(accounts)
        account_manifests = {a: exports.current_manifest(root / "accounts" / a) for a in accounts}
        for account, account_manifest in account_manifests.items():
            assert account_manifest["account_id"] == account
            assert account_manifest["release_id"] == manifest["release_id"]
            assert {s["account_id"] for s in account_manifest["source"]} == {account}
            current = root / "accounts" / account / "current"
            assert sorted(current.glob("*.parquet"))
            for name, spec in account_manifest["tables"].items():
                names = [c["name"] for c in spec["columns"]]
                if "account_id" not in names or not spec["rows"]:
                    continue
                seen = con.execute(
                    f"select distinct account_id from {parquet_source(current, spec)}"
                ).fetchall()
                assert seen == [(account,)], (account, name)
        for name, spec in manifest["tables"].items():
            columns = [c["name"] for c in spec["columns"]]
            full = sorted_frame(con, parquet_source(root / "current", spec), columns)
            parts = [
                sorted_frame(
                    con,
                    parquet_source(root / "accounts" / a / "current", m["tables"][name]),
                    columns,
                )
                for a, m in account_manifests.items()
                if m["tables"][name]["rows"]
            ]
            if "account_id" in columns:
                union = pl.concat(parts)
                assert_frame_equal(union.sort(columns), full, check_exact=True)
            else:
                # A table without an account (the calendar) goes whole to every account.
                for part in parts:
                    assert_frame_equal(part, full, check_exact=True)
    finally:
        con.close()


@pytest.mark.postgres
def test_a_dropped_column_without_a_version_bump_stops_the_swaps(demo_db, tmp_path):
    db = copy_warehouse(demo_db, tmp_path / "pipeline")
    root = tmp_path / "exports"
    with scratch_schema() as schema:
        settings = PublishSettings(
            exports_dir=str(root), postgres_url=POSTGRES_URL, postgres_schema=schema
        )
        first = _publish(db, settings)
        assert first.success
        first_release = exports.current_manifest(root)["release_id"]

        con = DuckDBWarehouse(path=str(db)).connect()
        try:
            columns = [row[0] for row in con.execute("describe marts.fct_wip_aging").fetchall()]
            dropped = columns[-1]
            con.execute(f"alter table marts.fct_wip_aging drop column {dropped}")
        finally:
            con.close()

        second = _publish(db, settings, raise_on_error=False)
        assert not second.success
        checks = {e.check_name: e for e in second.get_asset_check_evaluations()}
        assert not checks["schema_is_compatible"].passed
        problems = checks["schema_is_compatible"].metadata["problems"].value
        assert f"fct_wip_aging.{dropped} disappeared" in problems
        assert checks["rows_match_marts"].passed
        materialized = _materialized(second)
        assert "exports/release" in materialized
        assert not materialized & {
            "exports/current",
            "exports/analytics_duckdb",
            "postgres/buildos_analytics",
        }

        assert exports.current_manifest(root)["release_id"] == first_release
        serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
        try:
            held = serving.execute("select release_id from meta.release").fetchall()
            assert held == [(first_release,)]
            wip_columns = [r[0] for r in serving.execute("describe bi.fct_wip_aging").fetchall()]
            assert dropped in wip_columns
        finally:
            serving.close()
        engine = sa.create_engine(POSTGRES_URL)
        try:
            with engine.connect() as connection:
                release = connection.execute(sa.text(f"select release_id from {schema}.release"))
                assert release.scalar_one() == first_release
                releases = {n for n in schema_names(connection) if n.startswith(f"{schema}__")}
                assert releases == {postgres.current_release_schema(connection, schema)}
        finally:
            engine.dispose()


def test_postgres_is_not_shown_as_materialized_when_nothing_was_published(demo_db, tmp_path):
    db = copy_warehouse(demo_db, tmp_path / "pipeline")
    result = _publish(db, PublishSettings(exports_dir=str(tmp_path / "exports")))
    assert result.success
    materialized = _materialized(result)
    assert "exports/analytics_duckdb" in materialized
    assert "postgres/buildos_analytics" not in materialized


def test_bi_assets_show_typed_documented_columns():
    from assets.publish import BI_SPECS

    for spec in BI_SPECS:
        columns = spec.metadata["dagster/column_schema"].columns
        assert columns, spec.key
        for column in columns:
            assert column.type not in ("string", "unknown"), (spec.key, column.name)
            assert column.description, (spec.key, column.name)
    burndown = next(s for s in BI_SPECS if s.key.path == ["bi", "fct_burndown_daily"])
    types = {c.name: c.type for c in burndown.metadata["dagster/column_schema"].columns}
    assert types["day_date"] == "DATE"
    assert types["scope_tasks"] == "BIGINT"
    assert types["ideal_remaining_tasks"] == "DOUBLE"


def test_previews_round_numbers():
    from decimal import Decimal

    from pipeline.preview import cell

    assert cell(2.3333333333333335) == "2.33"
    assert cell(1234.5) == "1,234.5"
    assert cell(3.0) == "3"
    assert cell(Decimal("0.125")) == "0.12"
    assert cell(None) == ""
    assert cell("a|b") == "a\\|b"
