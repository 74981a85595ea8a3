"""The relationship graph as files graph tools open: GraphML (Gephi, yEd, networkx) and the CSV
pair `neo4j-admin database import` takes, written from marts.graph_nodes and marts.graph_edges
into a release's graph/ folder.

A node's id is its BuildOS id in one account's release; in a release of several accounts it is
`<account_id>:<node_id>`, since the graph's key is the pair and an id alone need not be unique.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import duckdb

GRAPH_DIR = "graph"
GRAPHML_FILE = "graph.graphml"
NEO4J_NODES_FILE = "neo4j_nodes.csv"
NEO4J_RELATIONSHIPS_FILE = "neo4j_relationships.csv"
BATCH_ROWS = 10_000
# (column, GraphML attr.type); every column of the marts but the ids, which the graph carries
NODE_ATTRIBUTES = (
    ("account_id", "string"),
    ("node_id", "string"),
    ("node_kind", "string"),
    ("node_label", "string"),
    ("project_id", "string"),
    ("node_state", "string"),
    ("created_at", "string"),
    ("deleted_at", "string"),
    ("is_deleted", "boolean"),
    ("is_landed", "boolean"),
    ("is_live", "boolean"),
    ("is_open", "boolean"),
)
EDGE_ATTRIBUTES = (
    ("account_id", "string"),
    ("edge_id", "string"),
    ("project_id", "string"),
    ("relation", "string"),
    ("source_kind", "string"),
    ("target_kind", "string"),
    ("created_at", "string"),
    ("is_source_live", "boolean"),
    ("is_target_live", "boolean"),
    ("is_live", "boolean"),
)
TIMESTAMPS = {"created_at", "deleted_at"}
# XML 1.0 cannot carry these at all, not even escaped; a title holding one would make the file
# unreadable to every GraphML parser.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_graph_files(
    con: duckdb.DuckDBPyConnection, release: Path, account_id: str | None = None
) -> dict:
    """Write graph/graph.graphml and the neo4j CSV pair into the release folder (one account's
    rows when `account_id` is given); returns their paths and counts for the manifest."""
    folder = release / GRAPH_DIR
    folder.mkdir()
    where, params = ("where account_id = ?", [account_id]) if account_id else ("", [])
    node_key = "node_id" if account_id else "account_id || ':' || node_id"
    source_key, target_key = (
        ("source_id", "target_id")
        if account_id
        else ("account_id || ':' || source_id", "account_id || ':' || target_id")
    )
    nodes = _copy_csv(con, _neo4j_nodes_sql(node_key, where), params, folder / NEO4J_NODES_FILE)
    edges = _copy_csv(
        con,
        _neo4j_relationships_sql(source_key, target_key, where),
        params,
        folder / NEO4J_RELATIONSHIPS_FILE,
    )
    _write_graphml(con, folder / GRAPHML_FILE, node_key, source_key, target_key, where, params)
    return {
        "graphml": f"{GRAPH_DIR}/{GRAPHML_FILE}",
        "neo4j_nodes": f"{GRAPH_DIR}/{NEO4J_NODES_FILE}",
        "neo4j_relationships": f"{GRAPH_DIR}/{NEO4J_RELATIONSHIPS_FILE}",
        "nodes": nodes,
        "edges": edges,
    }


def _iso(column: str) -> str:
    """ISO 8601 in UTC with microseconds, the form Neo4j's datetime and every parser read."""
    return f"strftime({column} at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')"


def _neo4j_nodes_sql(node_key: str, where: str) -> str:
    # :LABEL is the kind in Neo4j's convention (Task, Project, ...); a property's type rides in
    # its header (name:type), empty fields are absent properties.
    return f"""
        select
            {node_key} as "id:ID",
            upper(node_kind[1]) || node_kind[2:] as ":LABEL",
            account_id,
            node_id,
            node_kind,
            node_label as name,
            project_id,
            node_state as state,
            {_iso("created_at")} as "created_at:datetime",
            {_iso("deleted_at")} as "deleted_at:datetime",
            is_deleted as "is_deleted:boolean",
            is_landed as "is_landed:boolean",
            is_live as "is_live:boolean",
            is_open as "is_open:boolean"
        from marts.graph_nodes {where}
        order by account_id, node_id"""


def _neo4j_relationships_sql(source_key: str, target_key: str, where: str) -> str:
    return f"""
        select
            {source_key} as ":START_ID",
            {target_key} as ":END_ID",
            upper(relation) as ":TYPE",
            account_id,
            edge_id,
            project_id,
            {_iso("created_at")} as "created_at:datetime",
            is_source_live as "is_source_live:boolean",
            is_target_live as "is_target_live:boolean",
            is_live as "is_live:boolean"
        from marts.graph_edges {where}
        order by account_id, edge_id"""


def _copy_csv(con: duckdb.DuckDBPyConnection, query: str, params: list, target: Path) -> int:
    literal = str(target).replace("'", "''")
    # quote '"' doubled is what neo4j-admin reads; fields with line breaks need its
    # --multiline-fields=true (docs/bi.md shows the command)
    return con.execute(
        f"copy ({query}) to '{literal}' (format csv, header true, quote '\"', escape '\"')",
        params,
    ).fetchall()[0][0]


def _write_graphml(
    con: duckdb.DuckDBPyConnection,
    target: Path,
    node_key: str,
    source_key: str,
    target_key: str,
    where: str,
    params: list,
) -> None:
    with target.open("w", encoding="utf-8") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
            'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
        )
        for scope, attributes in (("node", NODE_ATTRIBUTES), ("edge", EDGE_ATTRIBUTES)):
            for name, kind in attributes:
                out.write(
                    f'  <key id="{scope}_{name}" for="{scope}" attr.name="{name}" '
                    f'attr.type="{kind}"/>\n'
                )
        out.write('  <graph id="buildos" edgedefault="directed">\n')
        node_columns = ", ".join(_graphml_column(n) for n, _ in NODE_ATTRIBUTES)
        _write_elements(
            out,
            con.execute(
                f"select {node_key}, {node_columns} from marts.graph_nodes {where} "
                "order by account_id, node_id",
                params,
            ),
            "node",
            NODE_ATTRIBUTES,
            lambda row: f"    <node id={_attr(row[0])}>",
            1,
        )
        edge_columns = ", ".join(_graphml_column(n) for n, _ in EDGE_ATTRIBUTES)
        _write_elements(
            out,
            con.execute(
                f"select edge_id, {source_key}, {target_key}, {edge_columns} "
                f"from marts.graph_edges {where} order by account_id, edge_id",
                params,
            ),
            "edge",
            EDGE_ATTRIBUTES,
            lambda row: (
                f"    <edge id={_attr(row[0])} source={_attr(row[1])} target={_attr(row[2])}>"
            ),
            3,
        )
        out.write("  </graph>\n</graphml>\n")


def _graphml_column(name: str) -> str:
    return _iso(name) if name in TIMESTAMPS else name


def _write_elements(out, cursor, scope: str, attributes, opening, skip: int) -> None:
    while rows := cursor.fetchmany(BATCH_ROWS):
        for row in rows:
            parts = [opening(row)]
            for (name, kind), value in zip(attributes, row[skip:], strict=True):
                if value is None:  # GraphML has no null: an absent <data> is one
                    continue
                text = ("true" if value else "false") if kind == "boolean" else _text(value)
                parts.append(f'<data key="{scope}_{name}">{text}</data>')
            parts.append(f"</{scope}>\n")
            out.write("".join(parts))


def _text(value: object) -> str:
    return escape(NOT_XML.sub("", str(value)))


def _attr(value: object) -> str:
    return quoteattr(NOT_XML.sub("", str(value)))
