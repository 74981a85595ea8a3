"""Every SQL example of docs/bi.md runs in PostgreSQL after a publish, with the guide's name
rule; the guide's grants let a BI role read the views, and keep letting it after a publish."""

from __future__ import annotations

import uuid

import psycopg
import pytest
import sqlalchemy as sa

from pipeline.publish import postgres
from tests.pipeline.publish.doc_queries import examples, for_postgres
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, publish_db

pytestmark = pytest.mark.postgres

DSN = sa.engine.make_url(POSTGRES_URL).set(drivername="postgresql").render_as_string(False)


def test_every_guide_example_runs_in_postgresql(pipeline_db, tmp_path, pg_schema):
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root)
    postgres.publish_release(POSTGRES_URL, root, manifest["release_id"], pg_schema)
    role = f"bi_reader_{uuid.uuid4().hex[:8]}"
    queries = [
        for_postgres(q, pg_schema)
        .replace("buildos_analytics", pg_schema)
        .replace("bi_reader", role)
        for q in examples("postgresql")
    ]
    try:
        with psycopg.connect(DSN, autocommit=True) as connection:
            for query in queries:
                rows = connection.execute(query)
                if rows.description is not None:
                    assert rows.fetchall(), query
        # The guide's role reads the views now, and after the next publish (new views' tables).
        second = publish_db(pipeline_db, root)
        postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
        reader_dsn = sa.engine.make_url(DSN).set(username=role).render_as_string(False)
        with psycopg.connect(reader_dsn) as connection:
            (release_id,) = connection.execute(
                f"select release_id from {pg_schema}.release"
            ).fetchone()
            assert release_id == second["release_id"]
            count = connection.execute(f"select count(*) from {pg_schema}.bi_dim_projects")
            assert count.fetchone()[0] > 0
    finally:
        with psycopg.connect(DSN, autocommit=True) as connection:
            exists = connection.execute("select 1 from pg_roles where rolname = %s", [role])
            if exists.fetchone():
                connection.execute(f"drop owned by {role}")
                connection.execute(f"drop role {role}")
