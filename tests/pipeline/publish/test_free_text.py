"""Free text (columns marked `free_text: true` in a model's .yml) stays out of every published
output unless include_free_text is set: Parquet, manifest, views.sql, serving file, PostgreSQL."""

from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from pipeline.publish import postgres
from pipeline.publish.contract import public_tables
from pipeline.publish.serving import SERVING_FILE
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, publish_db

FREE_TEXT = {t.name: set(t.model.free_text) for t in public_tables() if t.model.free_text}


def _published_columns(root, manifest: dict, schema: str) -> dict[str, dict[str, set[str]]]:
    """table -> output -> the columns that output has, for every table with free text."""
    release = root / "releases" / manifest["release_id"]
    views_sql = (release / "views.sql").read_text()
    serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
    engine = sa.create_engine(POSTGRES_URL)
    found = {}
    try:
        with engine.connect() as connection:
            tables = postgres.current_release_schema(connection, schema)
            for name in FREE_TEXT:
                spec = manifest["tables"][name]
                files = sorted(release.glob(spec["path"]))
                assert files
                query = (
                    "select column_name from information_schema.columns "
                    "where table_schema = :schema and table_name = :table"
                )
                found[name] = {
                    "manifest": {c["name"] for c in spec["columns"]},
                    "parquet": set().union(*(pq.read_schema(f).names for f in files)),
                    "serving marts": _duckdb_columns(serving, "marts", name),
                    "serving bi": _duckdb_columns(serving, "bi", name),
                    "postgres": set(
                        connection.execute(sa.text(query), {"schema": tables, "table": name})
                        .scalars()
                        .all()
                    ),
                    "postgres bi_": set(
                        connection.execute(
                            sa.text(query), {"schema": schema, "table": f"bi_{name}"}
                        )
                        .scalars()
                        .all()
                    ),
                }
                found[name]["views.sql"] = _view_columns(views_sql, name)
    finally:
        engine.dispose()
        serving.close()
    return found


def _view_columns(views_sql: str, name: str) -> set[str]:
    """The select list of `create or replace view bi.<name>` in a views.sql."""
    start = views_sql.index(f"create or replace view bi.{name} as\nselect\n")
    body = views_sql[start:].split("\n", 2)[2].split("\nfrom ", 1)[0]
    # Columns are t.<name> when the view joins the account label (a.account_label) on.
    return {column.strip().removeprefix("t.").removeprefix("a.") for column in body.split(",")}


def _duckdb_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def test_fct_project_status_recent_updates_is_marked_free_text():
    assert "recent_updates" in FREE_TEXT.get("fct_project_status", set())


@pytest.mark.postgres
@pytest.mark.parametrize("include_free_text", [False, True])
def test_free_text_is_published_only_when_asked(
    pipeline_db, tmp_path, pg_schema, include_free_text
):
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root, include_free_text=include_free_text)
    assert manifest["include_free_text"] is include_free_text
    postgres.publish_release(POSTGRES_URL, root, manifest["release_id"], pg_schema)
    found = _published_columns(root, manifest, pg_schema)
    assert found.keys() == FREE_TEXT.keys()
    for name, outputs in found.items():
        for output, columns in outputs.items():
            assert columns, (name, output)
            if include_free_text:
                assert FREE_TEXT[name] <= columns, (name, output)
            else:
                assert not FREE_TEXT[name] & columns, (name, output)
