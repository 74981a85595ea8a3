"""Every bi view with an account_id shows the account's label, in the pipeline's DuckDB, the
serving file, views.sql and PostgreSQL; labels tell accounts apart."""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa

from pipeline import warehouse
from pipeline.publish import postgres
from pipeline.publish.contract import is_labelled, public_tables
from pipeline.publish.serving import SERVING_FILE
from tests.pipeline.publish.publish_helpers import POSTGRES_URL, publish_db

LABELLED = [t.name for t in public_tables() if is_labelled(t, list(t.model.columns))]


def test_dim_accounts_labels_every_account_distinctly(demo_db):
    con = warehouse.connect(demo_db, read_only=True)
    try:
        (accounts,) = con.execute(
            "select count(distinct account_id) from marts.dim_projects"
        ).fetchone()
        rows = con.execute("select account_id, account_label from marts.dim_accounts").fetchall()
    finally:
        con.close()
    assert len(rows) == accounts == 3
    labels = [label for _, label in rows]
    assert len(set(labels)) == len(labels)
    # The sandbox's users have names: the label is a name, not an id.
    assert all(not label.startswith("account ") for label in labels)


@pytest.mark.postgres
def test_every_account_view_carries_the_label_everywhere(pipeline_db, tmp_path, pg_schema):
    root = tmp_path / "exports"
    manifest = publish_db(pipeline_db, root)
    postgres.publish_release(POSTGRES_URL, root, manifest["release_id"], pg_schema)
    assert "fct_velocity_weekly" in LABELLED and "dim_dates" not in LABELLED
    query = (
        "select count(*) from {view} as v join {accounts} as a using (account_id) "
        "where v.account_label is distinct from a.account_label"
    )
    serving = duckdb.connect(str(root / SERVING_FILE), read_only=True)
    engine = sa.create_engine(POSTGRES_URL)
    con = warehouse.connect(pipeline_db, read_only=True)
    try:
        with engine.connect() as connection:
            for name in LABELLED:
                for reader, view, accounts in (
                    (con, f"bi.{name}", "bi.dim_accounts"),
                    (serving, f"bi.{name}", "bi.dim_accounts"),
                ):
                    unlabelled = reader.execute(query.format(view=view, accounts=accounts))
                    assert unlabelled.fetchone()[0] == 0, name
                    nulls = reader.execute(
                        f"select count(*) from {view} where account_label is null"
                    )
                    assert nulls.fetchone()[0] == 0, name
                pg = connection.execute(
                    sa.text(
                        query.format(
                            view=f"{pg_schema}.bi_{name}", accounts=f"{pg_schema}.bi_dim_accounts"
                        )
                    )
                ).scalar_one()
                assert pg == 0, name
                comment = connection.execute(
                    sa.text(
                        "select col_description(to_regclass(:v), attnum) from pg_attribute "
                        "where attrelid = to_regclass(:v) and attname = 'account_label'"
                    ),
                    {"v": f"{pg_schema}.bi_{name}"},
                ).scalar_one()
                assert comment, name
    finally:
        con.close()
        serving.close()
        engine.dispose()
