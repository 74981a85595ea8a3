"""The Superset bundle describes every bi view of the serving file: each column with its type
and description (from the .yml docs), and metrics."""

from __future__ import annotations

import zipfile

import duckdb
import yaml

from pipeline.publish.serving import SERVING_FILE
from pipeline.publish.superset import write_bundle
from tests.pipeline.publish.publish_helpers import publish_db


def test_bundle_has_a_documented_dataset_per_bi_view(pipeline_db, tmp_path):
    root = tmp_path / "exports"
    publish_db(pipeline_db, root)
    bundle = write_bundle(root / SERVING_FILE, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        documents = {n: yaml.safe_load(archive.read(n)) for n in archive.namelist()}
    assert documents["buildos_analytics/metadata.yaml"]["type"] == "SqlaTable"
    database = documents["buildos_analytics/databases/buildos_analytics.yaml"]
    assert database["sqlalchemy_uri"].endswith("analytics.duckdb?access_mode=READ_ONLY")
    datasets = {
        d["table_name"]: d
        for n, d in documents.items()
        if n.startswith("buildos_analytics/datasets/")
    }
    serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
    try:
        views = [
            r[0]
            for r in serving.execute(
                "select view_name from duckdb_views() where schema_name = 'bi' order by 1"
            ).fetchall()
        ]
        assert sorted(datasets) == views
        for name in views:
            described = serving.execute(f"describe bi.{name}").fetchall()
            dataset = datasets[name]
            assert dataset["database_uuid"] == database["uuid"]
            shown = {c["column_name"]: c["type"] for c in dataset["columns"]}
            assert shown == {r[0]: r[1] for r in described}, name
            assert all(c["description"] for c in dataset["columns"]), name
            assert dataset["metrics"][0]["expression"] == "count(*)"
    finally:
        serving.close()
    assert "sum__tasks_completed" in {
        m["metric_name"] for m in datasets["fct_velocity_weekly"]["metrics"]
    }
