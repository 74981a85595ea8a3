"""PostgreSQL holds exactly the marts after a publish (the release's tables and the stable bi_
views over them, with keys, indexes and comments), and a publish that fails part way leaves
the previous one as it was."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from pipeline import warehouse
from pipeline.publish import exports, postgres, postgres_accounts
from tests.pipeline.publish.postgres_changes import (
    accounts,
    change_account,
    current_tables,
    held_releases,
    pg_counts,
    release_counts,
    session,
)
from tests.pipeline.publish.publish_helpers import (
    POSTGRES_URL,
    normalized_rows,
    publish_db,
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


def _tables(connection: sa.Connection, schema: str) -> str:
    """The release schema the stable views read."""
    found = postgres.current_release_schema(connection, schema)
    assert found and found.startswith(f"{schema}__r"), found
    return found


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
            tables = _tables(connection, pg_schema)
            types = dict(
                connection.execute(
                    sa.text(
                        "select column_name, data_type from information_schema.columns "
                        "where table_schema = :schema and table_name = 'fct_project_status'"
                    ),
                    {"schema": tables},
                ).all()
            )
            assert types["recent_updates"] == "jsonb"
            for name, spec in manifest["tables"].items():
                columns = [c["name"] for c in spec["columns"]]
                mart_rows = con.execute(f"select count(*) from marts.{name}").fetchall()[0][0]
                assert _pg_count(connection, f"{tables}.{name}") == mart_rows, name
                assert _pg_count(connection, f"{pg_schema}.bi_{name}") == mart_rows, name
                if name in FULL_CONTENT_TABLES:
                    marts = normalized_rows(
                        con.execute(f"select {', '.join(columns)} from marts.{name}").fetchall()
                    )
                    assert _pg_rows(connection, f"{tables}.{name}", columns) == marts
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


def _raise_after_the_first_table(monkeypatch, module, name: str) -> None:
    real = getattr(module, name)
    copied = []

    def copy_then_fail(*args, **kwargs):
        if copied:
            raise RuntimeError("the connection dropped (simulated)")
        copied.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, copy_then_fail)


@pytest.mark.parametrize("failure", ["copy_raises", "corrupt_parquet"])
@pytest.mark.parametrize("path", ["per_account", "schema_switch"])
def test_a_failed_publish_leaves_every_account_at_its_previous_release(
    pipeline_db, tmp_path, pg_schema, monkeypatch, failure, path
):
    """Two accounts changed (and, for the schema switch, the contract: free text on); the
    publish fails while copying: every account keeps its previous rows, whole."""
    root = tmp_path / "exports"
    con = warehouse.connect(pipeline_db)
    try:
        first = exports.write_release(con, root, include_free_text=False)
        postgres.publish_release(POSTGRES_URL, root, first["release_id"], pg_schema)
        for account in accounts(con)[:2]:
            change_account(con, account, f"{account}-v1", drop=5)
        second = exports.write_release(con, root, include_free_text=path == "schema_switch")
    finally:
        con.close()
    tables = current_tables(pg_schema)
    if failure == "copy_raises":
        if path == "per_account":
            _raise_after_the_first_table(monkeypatch, postgres_accounts, "copy_rows")
        else:
            _raise_after_the_first_table(monkeypatch, postgres, "_copy_table")
        error = RuntimeError
    else:
        _corrupt_a_parquet_file(root, second["release_id"])
        error = Exception
    with pytest.raises(error):
        postgres.publish_release(POSTGRES_URL, root, second["release_id"], pg_schema)
    with session(autocommit=True) as connection:
        (release_id,) = connection.execute(f"select release_id from {pg_schema}.release").fetchone()
        assert release_id == first["release_id"]
        expected = release_counts(root, first)
        assert pg_counts(connection, pg_schema, expected) == expected
        assert held_releases(connection, pg_schema) == {
            s["account_id"]: (s["account_release_id"], first["release_id"]) for s in first["source"]
        }
        names = {n for (n,) in connection.execute("select nspname from pg_namespace")}
    assert current_tables(pg_schema) == tables
    # The failed build's schema is gone: only the published one is left.
    assert {n for n in names if n.startswith(f"{pg_schema}__")} == {tables}


def test_tables_have_comments_primary_keys_and_the_indexes_bi_needs(
    pipeline_db, tmp_path, pg_schema
):
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root)
    postgres.publish_release(POSTGRES_URL, root, manifest["release_id"], pg_schema)
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            tables = _tables(connection, pg_schema)
            for name in manifest["tables"]:
                relation = f"{tables}.{name}"
                comment = connection.execute(
                    sa.text("select obj_description(to_regclass(:t), 'pg_class')"), {"t": relation}
                ).scalar_one()
                assert comment and "Grain:" in comment, name
                described = connection.execute(
                    sa.text(
                        "select count(*) from pg_attribute where attrelid = to_regclass(:t) "
                        "and attnum > 0 and col_description(attrelid, attnum) is not null"
                    ),
                    {"t": relation},
                ).scalar_one()
                assert described > 0, name
                key = connection.execute(
                    sa.text(
                        "select pg_get_constraintdef(oid) from pg_constraint "
                        "where conrelid = to_regclass(:t) and contype = 'p'"
                    ),
                    {"t": relation},
                ).scalar_one_or_none()
                assert key, f"{name} has no primary key"
            burndown = connection.execute(
                sa.text(
                    "select pg_get_constraintdef(oid) from pg_constraint "
                    "where conrelid = to_regclass(:t) and contype = 'p'"
                ),
                {"t": f"{tables}.fct_burndown_daily"},
            ).scalar_one()
            assert burndown == "PRIMARY KEY (account_id, project_id, day_date)"
            indexes = set(
                connection.execute(
                    sa.text(
                        "select indexdef from pg_indexes where tablename = 'fct_task_flow' "
                        "and schemaname = :s"
                    ),
                    {"s": tables},
                ).scalars()
            )
            assert any("(account_id, project_id)" in i for i in indexes), indexes
    finally:
        engine.dispose()
