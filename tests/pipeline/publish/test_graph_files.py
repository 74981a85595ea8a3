"""The graph files on hand-made marts: any text survives GraphML (escaped, or dropped where XML
cannot carry it), a null is an absent attribute, and one account's files hold only its rows."""

from __future__ import annotations

import csv

import duckdb
import networkx as nx

from pipeline.publish.graph import write_graph_files

LABEL = "A & B <c> \"q\" 's' \x01bell\nline two \u00e9 \u6f22"


def _marts() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("set timezone = 'UTC'")
    con.execute("create schema marts")
    con.execute(
        "create table marts.graph_nodes as select * from (values "
        "('a', 'n1', 'task', ?, 'p', 'todo', timestamptz '2026-01-01 10:00:00.123456+00', "
        "cast(null as timestamptz), false, true, true, true), "
        "('a', 'n\"2&<', 'risk', null, 'p', null, null, null, false, false, false, false), "
        "('b', 'n1', 'goal', 'Other account', 'q', 'active', null, null, false, true, true, true)"
        ") as t(account_id, node_id, node_kind, node_label, project_id, node_state, created_at, "
        "deleted_at, is_deleted, is_landed, is_live, is_open)",
        [LABEL],
    )
    con.execute(
        "create table marts.graph_edges as select * from (values "
        "('a', 'e1', 'p', 'relates_to', 'n1', 'task', 'n\"2&<', 'risk', "
        "timestamptz '2026-01-01 10:00:00+00', true, false, false)"
        ") as t(account_id, edge_id, project_id, relation, source_id, source_kind, target_id, "
        "target_kind, created_at, is_source_live, is_target_live, is_live)"
    )
    return con


def test_any_text_round_trips_through_graphml_and_neo4j_csv(tmp_path):
    files = write_graph_files(_marts(), tmp_path, account_id="a")
    assert (files["nodes"], files["edges"]) == (2, 1)
    graph = nx.read_graphml(tmp_path / files["graphml"])
    assert set(graph.nodes) == {"n1", 'n"2&<'}  # account b's n1 is left out
    task = graph.nodes["n1"]
    assert task["node_label"] == LABEL.replace("\x01", "")  # XML 1.0 cannot hold \x01
    assert task["created_at"] == "2026-01-01T10:00:00.123456Z"
    assert "deleted_at" not in task and "node_label" not in graph.nodes['n"2&<']
    assert task["is_open"] is True and graph.nodes['n"2&<']["is_landed"] is False
    ((source, target, edge),) = graph.edges(data=True)
    assert (source, target, edge["relation"], edge["is_target_live"]) == (
        "n1",
        'n"2&<',
        "relates_to",
        False,
    )
    with (tmp_path / files["neo4j_nodes"]).open(newline="", encoding="utf-8") as handle:
        nodes = list(csv.DictReader(handle))
    assert sorted((n["id:ID"], n[":LABEL"], n["name"]) for n in nodes) == [
        ('n"2&<', "Risk", ""),
        ("n1", "Task", LABEL),  # CSV carries any text; the label's line break is quoted
    ]
    with (tmp_path / files["neo4j_relationships"]).open(newline="", encoding="utf-8") as handle:
        (relationship,) = list(csv.DictReader(handle))
    assert (relationship[":START_ID"], relationship[":END_ID"], relationship[":TYPE"]) == (
        "n1",
        'n"2&<',
        "RELATES_TO",
    )


def test_the_whole_workspace_keys_nodes_by_account(tmp_path):
    files = write_graph_files(_marts(), tmp_path)
    graph = nx.read_graphml(tmp_path / files["graphml"])
    assert set(graph.nodes) == {"a:n1", 'a:n"2&<', "b:n1"}
    assert graph.nodes["b:n1"]["node_label"] == "Other account"
