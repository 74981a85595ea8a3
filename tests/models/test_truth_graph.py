"""The graph marts and the release's graph files against the sandbox's ground truth, and a
hand-written workspace with a dependency cycle.

The expected graph is read from the truth's entities and edges in plain Python (a breadth-first
walk for the blockers); the marts' SQL is never used for it. The GraphML is read back with
networkx and the Neo4j CSVs with a reader that checks neo4j-admin's header conventions.
"""

from __future__ import annotations

import csv
from collections import defaultdict, deque
from itertools import pairwise
from pathlib import Path

import networkx as nx
import orjson
import pytest

from pipeline.publish import exports
from pipeline.sandbox import SimulationOptions
from tests.models.truth import NOW, Built, build_from_sandbox, live_project_ids

OPTIONS = SimulationOptions(
    seed=11, accounts=2, projects_per_account=5, tasks_per_project=40, now=NOW
)
NODE_GROUPS = ("projects", "tasks", "goals", "milestones", "plans", "documents")
FINISHED = {
    "task": {"done"},
    "project": {"completed", "cancelled"},
    "goal": {"achieved", "abandoned"},
    "milestone": {"completed"},
    "plan": {"completed"},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Built:
    return build_from_sandbox(tmp_path_factory.mktemp("graph"), OPTIONS)


class TrueGraph:
    """The live graph of the truth: entities not deleted, of projects not deleted, and the
    edges not removed."""

    def __init__(self, built: Built):
        live_projects = live_project_ids(built)
        self.nodes: dict[tuple[str, str], dict] = {}
        self.edges: list[dict] = []
        for account in built.truth["accounts"]:
            account_id = account["account_id"]
            for group in NODE_GROUPS:
                for item in account[group]:
                    if item["deleted_at"] is None and item["project_id"] in live_projects:
                        self.nodes[(account_id, item["id"])] = {
                            "kind": item["kind"],
                            "project_id": item["project_id"],
                            "state": item["row"]["state_key"],
                        }
            for item in account["edges"]:
                if item["deleted_at"] is None and item["project_id"] in live_projects:
                    self.edges.append({"account_id": account_id, **item["row"]})

    def is_open(self, key: tuple[str, str]) -> bool:
        node = self.nodes.get(key)
        return node is not None and node["state"] not in FINISHED.get(node["kind"], set())

    def blocking_links(self) -> dict[tuple[str, str], set[str]]:
        """(account, blocked) -> its direct blockers, among open entities."""
        links: dict[tuple[str, str], set[str]] = defaultdict(set)
        for edge in self.edges:
            if edge["rel"] not in ("blocks", "depends_on"):
                continue
            blocker, blocked = (
                (edge["src_id"], edge["dst_id"])
                if edge["rel"] == "blocks"
                else (edge["dst_id"], edge["src_id"])
            )
            account = edge["account_id"]
            if self.is_open((account, blocker)) and self.is_open((account, blocked)):
                links[(account, blocked)].add(blocker)
        return links

    def task_blockers(self) -> dict[tuple[str, str, str], int]:
        """(account, blocked open task, blocker) -> fewest steps, by breadth-first walks."""
        links = self.blocking_links()
        found = {}
        for (account, blocked), _ in list(links.items()):
            if self.nodes[(account, blocked)]["kind"] != "task":
                continue
            queue = deque([(blocked, 0)])
            seen: set[str] = set()
            while queue:
                at, depth = queue.popleft()
                for blocker in sorted(links.get((account, at), ())):
                    if blocker not in seen:
                        seen.add(blocker)
                        found[(account, blocked, blocker)] = depth + 1
                        queue.append((blocker, depth + 1))
        return found

    def goals_without_live_work(self) -> dict[tuple[str, str], str]:
        supporters: dict[tuple[str, str], list[bool]] = defaultdict(list)
        for edge in self.edges:
            source = (edge["account_id"], edge["src_id"])
            if edge["rel"] == "supports_goal" and source in self.nodes:
                supporters[(edge["account_id"], edge["dst_id"])].append(self.is_open(source))
        result = {}
        for key, node in self.nodes.items():
            project = (key[0], node["project_id"])
            if node["kind"] == "goal" and self.is_open(key) and self.is_open(project):
                support = supporters.get(key, [])
                if not any(support):
                    result[key] = (
                        "all_supporting_work_finished" if support else "no_supporting_work"
                    )
        return result


def _rows(built: Built, query: str) -> list[dict]:
    return built.sql(query).to_dicts()


def test_live_nodes_and_edges_are_the_truths(built):
    truth = TrueGraph(built)
    nodes = _rows(built, "select account_id, node_id, node_kind, project_id from marts.graph_nodes")
    live = {
        (r["account_id"], r["node_id"]): {"kind": r["node_kind"], "project_id": r["project_id"]}
        for r in _rows(
            built,
            "select account_id, node_id, node_kind, project_id from marts.graph_nodes "
            "where is_live",
        )
    }
    assert live == {
        k: {"kind": v["kind"], "project_id": v["project_id"]} for k, v in truth.nodes.items()
    }
    # the sandbox serves only entities of kinds the pipeline lands: no unlanded nodes
    assert all(
        r["node_kind"] in {"project", "task", "goal", "milestone", "plan", "document"}
        for r in nodes
    )
    edges = _rows(built, "select account_id, edge_id, relation, is_live from marts.graph_edges")
    assert sorted((e["account_id"], e["id"]) for e in truth.edges) == sorted(
        (r["account_id"], r["edge_id"]) for r in edges
    )
    # the sandbox removes an entity's edges when it is deleted: every edge is live
    assert all(r["is_live"] for r in edges)
    relations = {r["relation"] for r in edges}
    assert {"has_task", "supports_goal", "depends_on", "blocks"} <= relations


def test_transitive_task_blockers_are_the_truths_with_valid_shortest_paths(built):
    truth = TrueGraph(built)
    expected = truth.task_blockers()
    rows = _rows(
        built,
        "select account_id, blocked_id, blocker_id, depth, path, is_cycle "
        "from marts.graph_blockers where blocked_kind = 'task'",
    )
    assert {(r["account_id"], r["blocked_id"], r["blocker_id"]): r["depth"] for r in rows} == (
        expected
    )
    assert max(expected.values()) >= 2, "the case should have chains, not only direct blockers"
    links = truth.blocking_links()
    for row in rows:
        path = row["path"]
        assert path[0] == row["blocker_id"] and path[-1] == row["blocked_id"]
        for blocker, blocked in pairwise(path):
            assert blocker in links[(row["account_id"], blocked)], row
    # sandbox dependencies always point at earlier tasks: no cycles
    assert not any(r["is_cycle"] for r in rows)


def test_project_blockers_are_what_blocks_its_open_tasks(built):
    truth = TrueGraph(built)
    expected: dict[tuple[str, str, str], int] = {}
    for (account, blocked, blocker), depth in truth.task_blockers().items():
        project = truth.nodes[(account, blocked)]["project_id"]
        if truth.is_open((account, project)):
            key = (account, project, blocker)
            expected[key] = min(depth, expected.get(key, depth))
    rows = _rows(
        built,
        "select account_id, blocked_id, blocker_id, depth from marts.graph_blockers "
        "where blocked_kind = 'project'",
    )
    assert {(r["account_id"], r["blocked_id"], r["blocker_id"]): r["depth"] for r in rows} == (
        expected
    )
    assert expected


def test_goals_without_live_work_are_the_truths(built):
    expected = TrueGraph(built).goals_without_live_work()
    rows = _rows(
        built, "select account_id, goal_id, reason from marts.graph_goals_without_live_work"
    )
    assert {(r["account_id"], r["goal_id"]): r["reason"] for r in rows} == expected


def read_neo4j_csv(path: Path, required: tuple[str, ...]) -> list[dict]:
    """Rows of a neo4j-admin import CSV, after checking its header: the required special
    columns each once, every other column `name` or `name:type` with a type Neo4j knows."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    for special in required:
        assert sum(1 for h in header if h == special or h.endswith(special)) == 1, special
    for name in header:
        field, _, kind = name.partition(":")
        if name in required or name.endswith(required):
            continue
        assert field, name
        assert kind in ("", "string", "int", "long", "float", "double", "boolean", "datetime")
    return rows


def _release(built: Built, root: Path, account_id: str | None = None) -> Path:
    manifest = exports.write_release(
        built.con, root, include_free_text=False, account_id=account_id
    )
    return root / "releases" / manifest["release_id"]


def test_release_graph_files_load_in_networkx_and_neo4j_form(built, tmp_path):
    truth = TrueGraph(built)
    total_nodes = built.sql("select count(*) as n from marts.graph_nodes")["n"][0]
    for account in built.truth["accounts"]:
        account_id = account["account_id"]
        release = _release(built, tmp_path / account_id, account_id)
        manifest = orjson.loads((release / "manifest.json").read_bytes())
        graph = nx.read_graphml(release / manifest["graph"]["graphml"])
        live = {n for n, data in graph.nodes(data=True) if data["is_live"]}
        assert live == {node for a, node in truth.nodes if a == account_id}
        true_edges = [e for e in truth.edges if e["account_id"] == account_id]
        assert graph.number_of_edges() == len(true_edges) == manifest["graph"]["edges"]
        assert graph.number_of_nodes() == manifest["graph"]["nodes"]
        assert all(data["account_id"] == account_id for _, data in graph.nodes(data=True))
        # a known path: the deepest blocker chain of the truth runs along the graph's edges
        chains = {k: d for k, d in truth.task_blockers().items() if k[0] == account_id}
        (_, blocked, blocker), depth = max(chains.items(), key=lambda item: (item[1], item[0]))
        blocking = nx.DiGraph()
        for source, target, data in graph.edges(data=True):
            if data["relation"] == "blocks":
                blocking.add_edge(source, target)
            elif data["relation"] == "depends_on":
                blocking.add_edge(target, source)
        assert nx.shortest_path_length(blocking, blocker, blocked) <= depth
        assert nx.has_path(graph.to_undirected(), blocker, blocked)

        nodes = read_neo4j_csv(release / manifest["graph"]["neo4j_nodes"], (":ID", ":LABEL"))
        relationships = read_neo4j_csv(
            release / manifest["graph"]["neo4j_relationships"], (":START_ID", ":END_ID", ":TYPE")
        )
        ids = {row["id:ID"] for row in nodes}
        assert ids == set(graph.nodes)
        assert {row[":LABEL"] for row in nodes} <= {
            "Project",
            "Task",
            "Goal",
            "Milestone",
            "Plan",
            "Document",
        }
        assert len(relationships) == len(true_edges)
        assert all(r[":START_ID"] in ids and r[":END_ID"] in ids for r in relationships)
        assert {r[":TYPE"] for r in relationships} >= {"HAS_TASK", "SUPPORTS_GOAL", "BLOCKS"}
    # the whole workspace's release keys its nodes by account and id
    whole = _release(built, tmp_path / "all")
    graph = nx.read_graphml(whole / "graph" / "graph.graphml")
    assert graph.number_of_nodes() == total_nodes
    assert all(node.startswith(data["account_id"] + ":") for node, data in graph.nodes(data=True))


# A hand-written workspace: t1 blocks t2, t2 blocks t3, t1 depends on t3 - a cycle - and t4
# (open) blocks t1 from outside it; t5 is done, so its block on t2 no longer counts.
P1 = "00000000-0000-4000-8000-000000000071"
CYCLE_WORKSPACE = {
    "format": "buildos-sandbox-workspace/1",
    "now": "2026-03-09T00:00:00Z",
    "accounts": [
        {
            "email": "cycle@sandbox.local",
            "password": "sandbox",
            "projects": [
                {
                    "id": P1,
                    "name": "Ship the launch",
                    "state_key": "active",
                    "created_at": "2026-03-01T09:00:00Z",
                    "tasks": [
                        {"id": f"t{n}", "title": f"Step {n}", "created_at": "2026-03-01T09:00:00Z"}
                        for n in range(1, 5)
                    ]
                    + [
                        {
                            "id": "t5",
                            "title": "Done step",
                            "created_at": "2026-03-01T09:00:00Z",
                            "changes": [{"at": "2026-03-02T09:00:00Z", "state_key": "done"}],
                        }
                    ],
                    "goals": [
                        {"id": "g1", "name": "Launched", "created_at": "2026-03-01T09:00:00Z"},
                        {"id": "g2", "name": "Loved", "created_at": "2026-03-01T09:00:00Z"},
                    ],
                    "edges": [
                        {"src_id": "t1", "dst_id": "t2", "rel": "blocks"},
                        {"src_id": "t2", "dst_id": "t3", "rel": "blocks"},
                        {"src_id": "t1", "dst_id": "t3", "rel": "depends_on"},
                        {"src_id": "t4", "dst_id": "t1", "rel": "blocks"},
                        {"src_id": "t5", "dst_id": "t2", "rel": "blocks"},
                        {"src_id": "t1", "dst_id": "g1", "rel": "supports_goal"},
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture(scope="module")
def cycle_built(tmp_path_factory) -> Built:
    path = tmp_path_factory.mktemp("cycle") / "cycle.json"
    path.write_bytes(orjson.dumps(CYCLE_WORKSPACE))
    return build_from_sandbox(path.parent, workspace_file=path)


def test_a_dependency_cycle_is_reported_not_looped_on(cycle_built):
    rows = _rows(
        cycle_built,
        "select blocked_kind, blocked_id, blocker_id, depth, path, is_cycle, is_in_cycle "
        "from marts.graph_blockers order by blocked_kind, blocked_id, blocker_id",
    )
    tasks = {(r["blocked_id"], r["blocker_id"]): r for r in rows if r["blocked_kind"] == "task"}
    cycles = {blocked: r["path"] for (blocked, _), r in tasks.items() if r["is_cycle"]}
    assert cycles == {
        "t1": ["t1", "t2", "t3", "t1"],
        "t2": ["t2", "t3", "t1", "t2"],
        "t3": ["t3", "t1", "t2", "t3"],
    }
    # each member is held up by the three members and by t4; t4 and the done t5 by nothing
    assert set(tasks) == {(b, x) for b in ("t1", "t2", "t3") for x in ("t1", "t2", "t3", "t4")}
    assert (tasks[("t3", "t4")]["depth"], tasks[("t3", "t4")]["path"]) == (
        3,
        ["t4", "t1", "t2", "t3"],
    )
    assert not tasks[("t3", "t4")]["is_in_cycle"] and tasks[("t3", "t2")]["is_in_cycle"]
    project = {r["blocker_id"] for r in rows if r["blocked_kind"] == "project"}
    assert project == {"t1", "t2", "t3", "t4"}
    goals = _rows(cycle_built, "select goal_id, reason from marts.graph_goals_without_live_work")
    assert goals == [{"goal_id": "g2", "reason": "no_supporting_work"}]


def test_the_cycle_shows_in_the_graph_files(cycle_built, tmp_path):
    release = _release(cycle_built, tmp_path)
    graph = nx.read_graphml(release / "graph" / "graph.graphml")
    account = cycle_built.truth["accounts"][0]["account_id"]
    blocking = nx.DiGraph(
        (s, t) if d["relation"] == "blocks" else (t, s)
        for s, t, d in graph.edges(data=True)
        if d["relation"] in ("blocks", "depends_on")
    )
    cycle = {source.split(":")[1] for source, _ in nx.find_cycle(blocking)}
    assert cycle == {"t1", "t2", "t3"}
    assert graph.nodes[f"{account}:t5"]["node_state"] == "done"
