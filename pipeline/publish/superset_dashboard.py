"""The starter dashboard of the Superset bundle: its charts (velocity, burndown, completion,
flow), declared once by dataset, saved metric and column; the chart and dashboard documents
Superset 6.1 imports; and the stable ids every document of the bundle is keyed by."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from pipeline.publish.contract import ACCOUNT_LABEL, ACCOUNTS

# Stable ids: re-importing a bundle updates the same database, datasets and charts.
NAMESPACE = uuid.UUID("6f1d3c1e-2b53-4a8e-9a55-6b3f1f5d0c11")
DASHBOARD_TITLE = "BuildOS delivery"
DASHBOARD_SLUG = "buildos-delivery"
ROW_LIMIT = 10000


@dataclass(frozen=True)
class Chart:
    """A starter chart: saved metrics of one dataset (named as `_metrics` names them), over a
    time axis at a grain (a timeseries) or grouped (a table)."""

    title: str
    dataset: str
    viz_type: str
    metrics: tuple[str, ...]
    description: str
    x_axis: str | None = None
    time_grain: str | None = None
    groupby: tuple[str, ...] = ()
    width: int = 6

    @property
    def columns(self) -> tuple[str, ...]:
        """Every dataset column the chart reads (its metrics' columns are in the metrics)."""
        return ((self.x_axis,) if self.x_axis else ()) + self.groupby


# The dashboard, row by row (a row is 12 grid units wide).
DASHBOARD_ROWS: tuple[tuple[Chart, ...], ...] = (
    (
        Chart(
            "Tasks completed per week",
            "fct_velocity_weekly",
            "echarts_timeseries_bar",
            ("sum__tasks_completed",),
            "Velocity: tasks whose final completion fell in the ISO week, per account.",
            x_axis="week_start",
            time_grain="P1W",
            groupby=(ACCOUNT_LABEL,),
        ),
        Chart(
            "Points completed per week",
            "fct_velocity_weekly",
            "echarts_timeseries_line",
            ("sum__points_completed",),
            "Velocity in effort points (facet_scale weights), per account.",
            x_axis="week_start",
            time_grain="P1W",
            groupby=(ACCOUNT_LABEL,),
        ),
    ),
    (
        Chart(
            "Burndown: remaining vs ideal tasks",
            "fct_burndown_daily",
            "echarts_timeseries_line",
            ("sum__remaining_tasks", "sum__ideal_remaining_tasks"),
            "Remaining tasks per day and the ideal line; the ideal exists only for projects "
            "with an end date, so pick one project with the Project filter to compare them.",
            x_axis="day_date",
            time_grain="P1D",
        ),
        Chart(
            "Burnup: scope vs completed tasks",
            "fct_burndown_daily",
            "echarts_timeseries_line",
            ("sum__scope_tasks", "sum__completed_tasks"),
            "Live tasks and done tasks at the end of each day (scope growth shows as a rising "
            "scope line).",
            x_axis="day_date",
            time_grain="P1D",
        ),
    ),
    (
        Chart(
            "Completion per project",
            "fct_project_completion",
            "table",
            ("avg__completion_pct", "sum__done_tasks", "sum__live_tasks", "sum__overdue_tasks"),
            "Done share of each live project's live tasks, as of the last sync.",
            groupby=(ACCOUNT_LABEL, "project_id"),
            width=12,
        ),
    ),
    (
        Chart(
            "Throughput per week",
            "fct_flow_daily",
            "echarts_timeseries_bar",
            ("sum__throughput_tasks",),
            "Tasks finished per week (adds up to the velocity chart's tasks), per account.",
            x_axis="day_date",
            time_grain="P1W",
            groupby=(ACCOUNT_LABEL,),
        ),
        Chart(
            "Work in progress",
            "fct_flow_daily",
            "echarts_timeseries_line",
            ("sum__wip_tasks",),
            "Tasks in progress or blocked at the end of each day, per account.",
            x_axis="day_date",
            time_grain="P1D",
            groupby=(ACCOUNT_LABEL,),
        ),
    ),
)
# Dashboard-wide filters: (name, dataset the values come from, column); every chart's
# dataset has the column, so each filter applies to every chart.
DASHBOARD_FILTERS = (
    ("Account", ACCOUNTS, ACCOUNT_LABEL),
    ("Project", "dim_projects", "project_id"),
)


def stable_uuid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


def _query(chart: Chart) -> dict:
    """The query the chart's data API runs, as Superset's own chart builders write it."""
    if chart.x_axis is None:
        columns: list = list(chart.groupby)
        filters: list = []
        post_processing: list = []
    else:
        axis = {
            "timeGrain": chart.time_grain,
            "columnType": "BASE_AXIS",
            "sqlExpression": chart.x_axis,
            "label": chart.x_axis,
            "expressionType": "SQL",
        }
        columns = [axis, *chart.groupby]
        filters = [{"col": chart.x_axis, "op": "TEMPORAL_RANGE", "val": "No filter"}]
        post_processing = [
            {
                "operation": "pivot",
                "options": {
                    "index": [chart.x_axis],
                    "columns": list(chart.groupby),
                    "aggregates": {m: {"operator": "mean"} for m in chart.metrics},
                    "drop_missing_columns": False,
                },
            },
            {"operation": "flatten"},
        ]
    return {
        "filters": filters,
        "extras": {"time_grain_sqla": chart.time_grain, "having": "", "where": ""},
        "applied_time_extras": {},
        "columns": columns,
        "metrics": list(chart.metrics),
        "orderby": [[chart.metrics[0], False]],
        "annotation_layers": [],
        "row_limit": ROW_LIMIT,
        "series_columns": list(chart.groupby) if chart.x_axis else [],
        "series_limit": 0,
        "order_desc": True,
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
        "post_processing": post_processing,
    }


def chart_document(chart: Chart, dataset: dict) -> dict:
    """charts/<name>.yaml: the explore form (params) and the saved query context, which
    the chart data API (`GET /api/v1/chart/<id>/data/`) and reports run without a browser."""
    known_metrics = {m["metric_name"] for m in dataset["metrics"]}
    known_columns = {c["column_name"] for c in dataset["columns"]}
    missing = [m for m in chart.metrics if m not in known_metrics] + [
        c for c in chart.columns if c not in known_columns
    ]
    if missing:
        # A renamed or removed .yml column stops the bundle here, not in someone's Superset.
        raise ValueError(f"chart {chart.title!r}: {chart.dataset} has no {', '.join(missing)}")
    params = {
        "viz_type": chart.viz_type,
        "metrics": list(chart.metrics),
        "groupby": list(chart.groupby),
        "adhoc_filters": [],
        "row_limit": ROW_LIMIT,
        "color_scheme": "supersetColors",
        "extra_form_data": {},
    }
    if chart.x_axis is None:
        params |= {"query_mode": "aggregate", "order_desc": True, "show_cell_bars": True}
        params["timeseries_limit_metric"] = chart.metrics[0]
    else:
        params |= {
            "x_axis": chart.x_axis,
            "time_grain_sqla": chart.time_grain,
            "adhoc_filters": [
                {
                    "clause": "WHERE",
                    "comparator": "No filter",
                    "expressionType": "SIMPLE",
                    "operator": "TEMPORAL_RANGE",
                    "subject": chart.x_axis,
                }
            ],
            "show_legend": True,
            "rich_tooltip": True,
            "x_axis_time_format": "smart_date",
        }
    query_context = {
        # The importer rewrites the datasource to the imported dataset's id.
        "datasource": {"id": 0, "type": "table"},
        "force": False,
        "queries": [_query(chart)],
        "form_data": params,
        "result_format": "json",
        "result_type": "full",
    }
    return {
        "slice_name": chart.title,
        "description": chart.description,
        "certified_by": None,
        "certification_details": None,
        "viz_type": chart.viz_type,
        "params": params,
        "query_context": json.dumps(query_context),
        "cache_timeout": None,
        "uuid": stable_uuid(f"chart:{chart.title}"),
        "version": "1.0.0",
        "dataset_uuid": dataset["uuid"],
    }


def dashboard_document(charts: dict[Chart, dict], datasets: dict[str, dict]) -> dict:
    """dashboards/<slug>.yaml: the grid of DASHBOARD_ROWS and the account and project filters.
    chartId is a placeholder the importer maps to the new chart's id through its uuid."""
    position: dict = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"children": ["GRID_ID"], "id": "ROOT_ID", "type": "ROOT"},
        "HEADER_ID": {"id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}, "type": "HEADER"},
        "GRID_ID": {"children": [], "id": "GRID_ID", "parents": ["ROOT_ID"], "type": "GRID"},
    }
    chart_number = 0
    for row_number, row in enumerate(DASHBOARD_ROWS, start=1):
        row_id = f"ROW-{row_number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "children": [],
            "id": row_id,
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
            "parents": ["ROOT_ID", "GRID_ID"],
            "type": "ROW",
        }
        for chart in row:
            chart_number += 1
            chart_id = f"CHART-{chart_number}"
            position[row_id]["children"].append(chart_id)
            position[chart_id] = {
                "children": [],
                "id": chart_id,
                "meta": {
                    "chartId": chart_number,
                    "height": 50,
                    "sliceName": chart.title,
                    "uuid": charts[chart]["uuid"],
                    "width": chart.width,
                },
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "type": "CHART",
            }
    native_filters = [
        {
            "id": f"NATIVE_FILTER-{column}",
            "name": name,
            "filterType": "filter_select",
            "targets": [{"column": {"name": column}, "datasetUuid": datasets[source]["uuid"]}],
            "controlValues": {
                "enableEmptyFilter": False,
                "defaultToFirstItem": False,
                "multiSelect": True,
                "searchAllOptions": False,
                "inverseSelection": False,
            },
            "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
            "cascadeParentIds": [],
            "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
            "type": "NATIVE_FILTER",
            "description": "",
        }
        for name, source, column in DASHBOARD_FILTERS
    ]
    return {
        "dashboard_title": DASHBOARD_TITLE,
        "description": None,
        "css": "",
        "slug": DASHBOARD_SLUG,
        "uuid": stable_uuid(f"dashboard:{DASHBOARD_SLUG}"),
        "position": position,
        "metadata": {
            "native_filter_configuration": native_filters,
            "color_scheme": "supersetColors",
            "cross_filters_enabled": True,
            "refresh_frequency": 0,
            "expanded_slices": {},
            "timed_refresh_immune_slices": [],
            "default_filters": "{}",
            "label_colors": {},
        },
        "published": True,
        "version": "1.0.0",
    }
