"""schema_breaks: a published column may not disappear or change type unless schema_version
goes up (BI dashboards break silently on that); added columns and tables are fine."""

from __future__ import annotations

import copy

import pytest

from pipeline.publish.exports import schema_breaks


def _manifest(version: int = 1) -> dict:
    return {
        "schema_version": version,
        "tables": {
            "fct_velocity_weekly": {
                "columns": [
                    {"name": "account_id", "type": "VARCHAR"},
                    {"name": "week_start", "type": "DATE"},
                    {"name": "tasks_completed", "type": "BIGINT"},
                ]
            },
            "dim_projects": {
                "columns": [
                    {"name": "account_id", "type": "VARCHAR"},
                    {"name": "project_id", "type": "VARCHAR"},
                ]
            },
        },
    }


def test_the_first_release_and_an_identical_one_pass():
    assert schema_breaks(None, _manifest()) == []
    assert schema_breaks(_manifest(), _manifest()) == []


def test_added_columns_and_tables_pass():
    new = _manifest()
    new["tables"]["fct_velocity_weekly"]["columns"].append({"name": "points", "type": "DOUBLE"})
    new["tables"]["fct_new"] = {"columns": [{"name": "x", "type": "BIGINT"}]}
    assert schema_breaks(_manifest(), new) == []


def test_a_dropped_column_breaks():
    new = _manifest()
    new["tables"]["fct_velocity_weekly"]["columns"].pop()
    assert schema_breaks(_manifest(), new) == ["fct_velocity_weekly.tasks_completed disappeared"]


def test_a_retyped_column_breaks():
    new = _manifest()
    new["tables"]["fct_velocity_weekly"]["columns"][2]["type"] = "DOUBLE"
    assert schema_breaks(_manifest(), new) == [
        "fct_velocity_weekly.tasks_completed changed type BIGINT -> DOUBLE"
    ]


def test_a_dropped_table_breaks():
    new = _manifest()
    del new["tables"]["dim_projects"]
    assert schema_breaks(_manifest(), new) == ["table dim_projects disappeared"]


@pytest.mark.parametrize("version", [1, 0])
def test_without_a_version_bump_every_break_is_listed(version):
    new = _manifest(version)
    new["tables"]["fct_velocity_weekly"]["columns"][1]["type"] = "TIMESTAMP"
    new["tables"]["dim_projects"]["columns"].pop()
    assert schema_breaks(_manifest(), new) == [
        "fct_velocity_weekly.week_start changed type DATE -> TIMESTAMP",
        "dim_projects.project_id disappeared",
    ]


def test_a_version_bump_allows_the_break():
    new = copy.deepcopy(_manifest(2))
    new["tables"]["fct_velocity_weekly"]["columns"].pop()
    del new["tables"]["dim_projects"]
    assert schema_breaks(_manifest(1), new) == []
