"""PostgreSQL holds exactly the marts after a publish (tables and bi_ views), and a publish that
fails part way leaves the previous one as it was: the whole publish is one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from pipeline import warehouse
from pipeline.publish import exports, postgres
from tests.pipeline.publish.publish_helpers import (
    POSTGRES_URL,
    normalized_rows,
    publish_db,
    publish_files,
    schema_names,
)

pytestmark = pytest.mark.postgres

FULL_CONTENT_TABLES = ("fct_velocity_weekly", "fct_project_status", "dim_projects")


def _pg_rows(connection: sa.Connection, relation: str, columns: list[str]) -> list[tuple]:
    return normalized_rows(
        connection.execute(sa.text(f"select {', '.join(columns)} from {relation}")).all()
    )


def _pg_count(connection: sa.Connection, relation: str) -> int:
    return connection.execute(sa.text(f"select count(*) from {relation}")).scalar_one()


def _pg_release(connection: sa.Connection, schema: str) -> str:
    return connection.execute(sa.text(f"select release_id from {schema}.release")).scalar_one()


def test_postgres_equals_the_marts(pipeline_db, tmp_path, pg_schema):
    root = tmp_path / "exports"
    # Free text included, so the list column (jsonb in PostgreSQL) is compared too.
    manifest = publish_db(pipeline_db, root, include_free_text=True)
    result = postgres.publish_release(POSTGRES_URL, root, manifest["release_id"], pg_schema)
    assert result["release_id"] == manifest["release_id"]
    assert result["rows"] == sum(t["rows"] for t in manifest["tables"].values())
    con = warehouse.connect(pipeline_db, read_only=True)
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            assert _pg_release(connection, pg_schema) == manifest["release_id"]
            types = dict(
                connection.execute(
                    sa.text(
                        "select column_name, data_type from information_schema.columns "
                        "where table_schema = :schema and table_name = 'fct_project_status'"
                    ),
                    {"schema": pg_schema},
                ).all()
            )
            assert types["recent_updates"] == "jsonb"
            for name, spec in manifest["tables"].items():
                columns = [c["name"] for c in spec["columns"]]
                mart_rows = con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
                assert _pg_count(connection, f"{pg_schema}.{name}") == mart_rows, name
                assert _pg_count(connection, f"{pg_schema}.bi_{name}") == mart_rows, name
                if name in FULL_CONTENT_TABLES:
                    marts = normalized_rows(
                        con.execute(f"select {', '.join(columns)} from marts.{name}").fetchall()
                    )
                    assert _pg_rows(connection, f"{pg_schema}.{name}", columns) == marts
                    assert _pg_rows(connection, f"{pg_schema}.bi_{name}", columns) == marts
            comment = connection.execute(
                sa.text("select obj_description(to_regclass(:view), 'pg_class')"),
                {"view": f"{pg_schema}.bi_fct_velocity_weekly"},
            ).scalar_one()
            assert "Grain:" in comment
    finally:
        engine.dispose()
        con.close()


def _corrupt_a_parquet_file(root: Path, release_id: str) -> None:
    target = root / "releases" / release_id / "fct_velocity_weekly.parquet"
    target.write_bytes(b"PAR1 this is not a parquet file")


def _raise_after_the_first_table(monkeypatch) -> None:
    real = postgres._copy_table
    copied = []

    def copy_then_fail(*args, **kwargs):
        if copied:
            raise RuntimeError("the connection dropped (simulated)")
        copied.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(postgres, "_copy_table", copy_then_fail)


@pytest.mark.parametrize("failure", ["copy_raises", "corrupt_parquet"])
def test_a_failed_publish_leaves_the_previous_one(
    pipeline_db, tmp_path, pg_schema, monkeypatch, failure
):
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    engine = sa.create_engine(POSTGRES_URL)
    try:
        first = publish_files(con, root)
        postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema)
        con.execute(
            "delete from marts.fct_velocity_weekly where rowid in "
            "(select rowid from marts.fct_velocity_weekly order by rowid limit 5)"
        )
        second = exports.write_release(con, root, include_free_text=False)
        assert (
            second["tables"]["fct_velocity_weekly"]["rows"]
            != first["tables"]["fct_velocity_weekly"]["rows"]
        )
        if failure == "copy_raises":
            _raise_after_the_first_table(monkeypatch)
            error = RuntimeError
        else:
            _corrupt_a_parquet_file(root, second["release_id"])
            error = Exception
        with pytest.raises(error):
            postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
        with engine.connect() as connection:
            assert _pg_release(connection, pg_schema) == first["release_id"]
            for name, spec in first["tables"].items():
                assert _pg_count(connection, f"{pg_schema}.{name}") == spec["rows"], name
                assert _pg_count(connection, f"{pg_schema}.bi_{name}") == spec["rows"], name
            names = schema_names(connection)
            assert pg_schema in names
            assert f"{pg_schema}__next" not in names
    finally:
        engine.dispose()
        con.close()
