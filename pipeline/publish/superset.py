"""A Superset import bundle (the v1 export ZIP that `superset import-datasources` and
`superset import-dashboards` take): one database over the serving file, one dataset per bi view
with the column descriptions and types from the marts' .yml docs and a few metrics each, and a
starter dashboard of velocity, burndown, completion and flow charts over those datasets.

    python -m pipeline.publish.superset exports/analytics.duckdb superset_bundle.zip
"""

from __future__ import annotations

import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

from pipeline.publish.contract import ACCOUNT_LABEL, ACCOUNTS, is_labelled, public_tables
from pipeline.publish.superset_dashboard import (
    DASHBOARD_ROWS,
    DASHBOARD_SLUG,
    chart_document,
    dashboard_document,
    stable_uuid,
)

DATABASE_NAME = "BuildOS analytics"
NUMERIC = ("BIGINT", "INTEGER", "DOUBLE", "FLOAT", "DECIMAL", "HUGEINT", "SMALLINT")
TEMPORAL = ("DATE", "TIMESTAMP")


def _column(name: str, kind: str | None, description: str | None) -> dict:
    kind = kind or "VARCHAR"
    return {
        "column_name": name,
        "verbose_name": None,
        "is_dttm": kind.startswith(TEMPORAL),
        "is_active": True,
        "type": kind,
        "groupby": True,
        "filterable": True,
        "expression": None,
        "description": description,
        "python_date_format": None,
        "extra": {},
    }


def _metrics(columns: list[dict]) -> list[dict]:
    metrics = [
        {
            "metric_name": "count",
            "verbose_name": "Rows",
            "metric_type": "count",
            "expression": "count(*)",
            "description": "Number of rows",
            "d3format": None,
            "extra": {},
            "warning_text": None,
        }
    ]
    for column in columns:
        if column["type"].startswith(NUMERIC) and not column["column_name"].endswith("_id"):
            name = column["column_name"]
            aggregate = "avg" if name.endswith(("_pct", "_rate", "_avg_3w", "_avg_6w")) else "sum"
            metrics.append(
                {
                    "metric_name": f"{aggregate}__{name}",
                    "verbose_name": f"{aggregate}({name})",
                    "metric_type": aggregate,
                    "expression": f"{aggregate}({name})",
                    "description": column["description"],
                    "d3format": ",.2f" if aggregate == "avg" else None,
                    "extra": {},
                    "warning_text": None,
                }
            )
    return metrics


def bundle_files(serving_file: Path) -> dict[str, dict]:
    """Path in the ZIP -> the YAML document there."""
    database_uuid = stable_uuid("database")
    files = {
        # No `type`: the importers check it only when present, so one ZIP goes to both
        # import-datasources (which reads databases/ and datasets/) and import-dashboards.
        "metadata.yaml": {"version": "1.0.0", "timestamp": datetime.now(UTC).isoformat()},
        "databases/buildos_analytics.yaml": {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": f"duckdb:///{serving_file.resolve()}?access_mode=READ_ONLY",
            "cache_timeout": None,
            "expose_in_sqllab": True,
            "allow_run_async": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_dml": False,
            "allow_file_upload": False,
            "extra": {"allows_virtual_table_explore": True},
            "uuid": database_uuid,
            "version": "1.0.0",
        },
    }
    accounts = next(t for t in public_tables() if t.name == ACCOUNTS)
    datasets: dict[str, dict] = {}
    for table in public_tables():
        columns = [
            _column(name, table.data_type(name), text or None)
            for name, text in table.model.columns.items()
            if name not in table.model.free_text
        ]
        if is_labelled(table, list(table.model.columns)):
            columns.append(
                _column(
                    ACCOUNT_LABEL,
                    accounts.data_type(ACCOUNT_LABEL),
                    accounts.comment(ACCOUNT_LABEL),
                )
            )
        temporal = [c["column_name"] for c in columns if c["is_dttm"]]
        datasets[table.name] = files[f"datasets/buildos_analytics/{table.name}.yaml"] = {
            "table_name": table.name,
            "main_dttm_col": temporal[0] if temporal else None,
            "description": table.description,
            "default_endpoint": None,
            "offset": 0,
            "cache_timeout": None,
            "schema": "bi",
            "sql": None,
            "params": None,
            "template_params": None,
            "filter_select_enabled": True,
            "fetch_values_predicate": None,
            "extra": None,
            "uuid": stable_uuid(f"dataset:{table.name}"),
            "metrics": _metrics(columns),
            "columns": columns,
            "version": "1.0.0",
            "database_uuid": database_uuid,
        }
    charts = {
        chart: chart_document(chart, datasets[chart.dataset])
        for row in DASHBOARD_ROWS
        for chart in row
    }
    for chart, document in charts.items():
        slug = "".join(c if c.isalnum() else "_" for c in chart.title.lower())
        files[f"charts/{slug}.yaml"] = document
    files[f"dashboards/{DASHBOARD_SLUG}.yaml"] = dashboard_document(charts, datasets)
    return files


def write_bundle(serving_file: Path, target: Path) -> Path:
    """The ZIP, every file under one top folder as Superset's own exports have it."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, document in bundle_files(serving_file).items():
            bundle.writestr(f"buildos_analytics/{name}", yaml.safe_dump(document, sort_keys=False))
    return target


if __name__ == "__main__":
    write_bundle(Path(sys.argv[1]), Path(sys.argv[2]))
