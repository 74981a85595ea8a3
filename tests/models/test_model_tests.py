"""The .yml tests as SQL: a relationship holds within the row's own account."""

import duckdb

from pipeline.models import _column_test, run_test


def test_a_row_pointing_at_another_accounts_project_fails_the_relationship():
    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute(
        "create table marts.dim_projects as "
        "select * from (values ('a', 'p1')) t(account_id, project_id)"
    )
    con.execute(
        "create table marts.dim_goals as select * from "
        "(values ('a', 'g1', 'p1'), ('b', 'g2', 'p1')) t(account_id, goal_id, project_id)"
    )
    test = _column_test(
        "marts.dim_goals",
        "project_id",
        {"relationships": {"to": "marts.dim_projects", "field": "project_id"}},
    )
    failing, sample = run_test(con, test)
    # g2 belongs to account b, which has no project p1: p1 is account a's
    assert (failing, sample) == (1, [("b", "g2", "p1")])
    assert test.refs == (("marts", "dim_goals"), ("marts", "dim_projects"))
