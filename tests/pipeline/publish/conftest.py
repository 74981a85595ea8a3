"""Fixtures for the publish tests: a copy of the session's demo warehouse per test, and a
PostgreSQL schema of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pipeline.publish.publish_helpers import copy_warehouse, demo_warehouse, scratch_schema


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    return demo_warehouse(tmp_path_factory)


@pytest.fixture
def pipeline_db(demo_db, tmp_path) -> Path:
    """This test's own copy of the pipeline's DuckDB file (marts and bi views built)."""
    return copy_warehouse(demo_db, tmp_path / "pipeline")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    with scratch_schema() as schema:
        yield schema
