"""The Superset bundle describes every bi view of the serving file: each column with its type
and description (from the .yml docs), and metrics; its starter dashboard's charts read only
datasets, metrics and columns that exist, and its layout places every chart."""

from __future__ import annotations

import json
import re
import zipfile
from itertools import pairwise
from pathlib import Path

import duckdb
import yaml

from pipeline.publish.serving import SERVING_FILE
from pipeline.publish.superset import write_bundle
from tests.pipeline.publish.publish_helpers import publish_db


def _bundle(pipeline_db: Path, tmp_path: Path) -> tuple[dict[str, dict], dict[str, list]]:
    """The bundle's documents by path (top folder dropped) and each bi view's described
    (column, type) rows."""
    root = tmp_path / "exports"
    publish_db(pipeline_db, root)
    bundle = write_bundle(root / SERVING_FILE, tmp_path / "bundle.zip")
    with zipfile.ZipFile(bundle) as archive:
        documents = {
            n.removeprefix("buildos_analytics/"): yaml.safe_load(archive.read(n))
            for n in archive.namelist()
        }
    serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
    try:
        views = serving.execute(
            "select view_name from duckdb_views() where schema_name = 'bi' order by 1"
        ).fetchall()
        described = {
            name: [(r[0], r[1]) for r in serving.execute(f"describe bi.{name}").fetchall()]
            for (name,) in views
        }
    finally:
        serving.close()
    return documents, described


def _of_kind(documents: dict[str, dict], folder: str) -> list[dict]:
    return [d for n, d in sorted(documents.items()) if n.startswith(f"{folder}/")]


def test_bundle_has_a_documented_dataset_per_bi_view(pipeline_db, tmp_path):
    documents, described = _bundle(pipeline_db, tmp_path)
    # No type: import-datasources and import-dashboards both take the same ZIP.
    assert documents["metadata.yaml"]["version"] == "1.0.0"
    assert "type" not in documents["metadata.yaml"]
    database = documents["databases/buildos_analytics.yaml"]
    assert database["sqlalchemy_uri"].endswith("analytics.duckdb?access_mode=READ_ONLY")
    datasets = {d["table_name"]: d for d in _of_kind(documents, "datasets")}
    assert sorted(datasets) == sorted(described)
    for name, columns in described.items():
        dataset = datasets[name]
        assert dataset["database_uuid"] == database["uuid"]
        shown = {c["column_name"]: c["type"] for c in dataset["columns"]}
        assert shown == dict(columns), name
        assert all(c["description"] for c in dataset["columns"]), name
        assert dataset["metrics"][0]["expression"] == "count(*)"
    assert "sum__tasks_completed" in {
        m["metric_name"] for m in datasets["fct_velocity_weekly"]["metrics"]
    }


def _query_columns(query: dict) -> set[str]:
    """The view columns a saved query reads: plain columns, the time axis, filters."""
    named = {c if isinstance(c, str) else c["sqlExpression"] for c in query["columns"]}
    return named | {f["col"] for f in query["filters"]}


def test_bundle_dashboard_charts_read_existing_datasets_and_columns(pipeline_db, tmp_path):
    documents, described = _bundle(pipeline_db, tmp_path)
    datasets = {d["uuid"]: d for d in _of_kind(documents, "datasets")}
    charts = _of_kind(documents, "charts")
    by_dataset = {datasets[c["dataset_uuid"]]["table_name"] for c in charts}
    # The four starter subjects: velocity, burndown, completion, flow.
    assert {
        "fct_velocity_weekly",
        "fct_burndown_daily",
        "fct_project_completion",
        "fct_flow_daily",
    } <= by_dataset
    for chart in charts:
        dataset = datasets[chart["dataset_uuid"]]
        view_columns = {name for name, _ in described[dataset["table_name"]]}
        metrics = {m["metric_name"]: m for m in dataset["metrics"]}
        params = chart["params"]
        (query,) = json.loads(chart["query_context"])["queries"]
        used = _query_columns(query) | set(params["groupby"])
        used |= {params["x_axis"]} if params.get("x_axis") else set()
        assert set(params["metrics"]) == set(query["metrics"]), chart["slice_name"]
        for metric in params["metrics"]:
            assert metric in metrics, (chart["slice_name"], metric)
            used |= set(re.findall(r"\((\w+)\)", metrics[metric]["expression"]))
        assert used <= view_columns, (chart["slice_name"], used - view_columns)
        assert chart["viz_type"] == params["viz_type"]

    (dashboard,) = _of_kind(documents, "dashboards")
    position = dashboard["position"]
    placed = [node for node in position.values() if isinstance(node, dict)]
    chart_nodes = [node for node in placed if node["type"] == "CHART"]
    assert sorted(n["meta"]["uuid"] for n in chart_nodes) == sorted(c["uuid"] for c in charts)
    assert len({n["meta"]["chartId"] for n in chart_nodes}) == len(chart_nodes)
    # The tree holds together: each node sits in its parent's children, under ROOT_ID.
    for node in placed:
        for parent, child in pairwise([*node.get("parents", []), node["id"]]):
            assert child in position[parent]["children"], node["id"]
        if node["type"] == "ROW":
            assert sum(position[c]["meta"]["width"] for c in node["children"]) <= 12
    assert position["ROOT_ID"]["children"] == ["GRID_ID"]
    assert all(n["parents"][:2] == ["ROOT_ID", "GRID_ID"] for n in chart_nodes)

    filters = dashboard["metadata"]["native_filter_configuration"]
    assert [f["name"] for f in filters] == ["Account", "Project"]
    for native_filter in filters:
        ((target),) = native_filter["targets"]
        column = target["column"]["name"]
        source = datasets[target["datasetUuid"]]["table_name"]
        # The filter applies to every chart, so every chart's dataset has its column.
        for name in {source} | by_dataset:
            assert column in {c for c, _ in described[name]}, (native_filter["name"], name)
