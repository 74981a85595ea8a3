"""The relationship graph as files graph tools open: GraphML (Gephi, yEd, networkx) and the CSV
pair `neo4j-admin database import` takes, written from marts.graph_nodes and marts.graph_edges
into a release's graph/ folder.

A node's id is its BuildOS id in one account's release; in a release of several accounts it is
`<account_id>:<node_id>`, since the graph's key is the pair and an id alone need not be unique.
"""

from __future__ import annotations

from pathlib import Path

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
# unreadable to every GraphML parser. (An RE2 pattern: DuckDB applies it.)
NOT_XML_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x{FFFE}\x{FFFF}]"


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
    """Each element is rendered by DuckDB, one line per node or edge, and streamed to the file:
    about 3x as fast as building the lines in Python, with byte-identical output (0.37 s
    against 1.08 s for a sandbox of 12,507 nodes and 22,494 edges, one run on a shared
    machine)."""
    nodes = (
        f"select '    <node id=' || {_xml_attr(node_key)} || '>' || "
        f"{_data('node', NODE_ATTRIBUTES)} || '</node>' from marts.graph_nodes {where} "
        "order by account_id, node_id"
    )
    edges = (
        f"select '    <edge id=' || {_xml_attr('edge_id')} || ' source=' || "
        f"{_xml_attr(source_key)} || ' target=' || {_xml_attr(target_key)} || '>' || "
        f"{_data('edge', EDGE_ATTRIBUTES)} || '</edge>' from marts.graph_edges {where} "
        "order by account_id, edge_id"
    )
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
        for query in (nodes, edges):
            cursor = con.execute(query, params)
            while rows := cursor.fetchmany(BATCH_ROWS):
                out.write("".join(f"{line}\n" for (line,) in rows))
        out.write("  </graph>\n</graphml>\n")


def _xml_text(expression: str) -> str:
    """SQL that escapes a value as XML character data (characters XML cannot carry dropped)."""
    cleaned = f"regexp_replace(cast({expression} as varchar), '{NOT_XML_PATTERN}', '', 'g')"
    return f"replace(replace(replace({cleaned}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def _xml_attr(expression: str) -> str:
    """SQL for a double-quoted XML attribute value."""
    escaped = _xml_text(expression)
    for char, entity in (('"', "&quot;"), ("\t", "&#9;"), ("\n", "&#10;"), ("\r", "&#13;")):
        escaped = f"replace({escaped}, chr({ord(char)}), '{entity}')"
    return f"""'"' || {escaped} || '"'"""


def _data(scope: str, attributes: tuple[tuple[str, str], ...]) -> str:
    """SQL for an element's <data> children; GraphML has no null, so a null is left out."""
    parts = []
    for name, kind in attributes:
        if kind == "boolean":
            value = f"case when {name} then 'true' else 'false' end"
        else:
            value = _xml_text(_iso(name) if name in TIMESTAMPS else name)
        parts.append(
            f"""case when {name} is null then '' else '<data key="{scope}_{name}">' || """
            f"{value} || '</data>' end"
        )
    return " || ".join(parts)
