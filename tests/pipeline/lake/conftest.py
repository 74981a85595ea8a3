"""The lake under test, twice: the embedded default (SQLite catalog, local folder) and the
deployed shape (catalog in a PostgreSQL database of the test's own, data files on a moto S3
server on loopback). The PostgreSQL tests fail, never skip, when the server is unreachable."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from pipeline.lake import LakeSettings
from pipeline.lake.s3local import local_s3
from tests.pipeline.lake.lake_helpers import BUCKET, POSTGRES_URL


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    with local_s3(BUCKET) as endpoint:
        yield endpoint


@pytest.fixture
def catalog_database() -> Iterator[str]:
    """A PostgreSQL database for this test's catalog, dropped afterwards."""
    name = f"lake_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'create database "{name}"')
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(params=["embedded", pytest.param("postgres_s3", marks=pytest.mark.postgres)])
def lake(request, tmp_path) -> LakeSettings:
    if request.param == "embedded":
        return LakeSettings.embedded(tmp_path / "data")
    return LakeSettings(
        catalog=request.getfixturevalue("catalog_database"),
        data_path=f"s3://{BUCKET}/{uuid.uuid4().hex}/",
        s3_endpoint=request.getfixturevalue("s3_endpoint"),
        s3_key_id="test",
        s3_secret="test-secret",
    )
