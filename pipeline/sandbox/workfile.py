"""Workspace files: a hand-written (or dumped) JSON workspace with a known history.

The format is documented in the README ("Workspace files"). In short: accounts hold projects,
brain dumps and briefs; a project holds tasks, goals, plans, milestones, documents, events and
edges; every entity is its row at creation (any column, missing ones get defaults) plus
`created_at` and a list of `changes`, each `{"at": ..., <column>: <value>, ...}` with optional
`"logged": false` for a change the app wrote no log for, `"deleted": true` for a soft delete
(and `"removed": true` for an edge).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson

from pipeline.sandbox.generate import account_credentials
from pipeline.sandbox.model import (
    US_PER_DAY,
    Account,
    Change,
    Entity,
    Workspace,
    iso,
    normalize_changes,
    parse_ts,
    remove_edges_of_deleted,
)

FORMAT = "buildos-sandbox-workspace/1"
FILE_NAMESPACE = uuid.UUID("0b7f7a53-3f67-4f55-8d0e-7c5e8f3b2a61")
CHILD_LISTS = {
    "tasks": "task",
    "goals": "goal",
    "plans": "plan",
    "milestones": "milestone",
    "documents": "document",
}
RESERVED = {"created_at", "changes", "created_logged", "events", "edges", *CHILD_LISTS}
TIMESTAMP_FIELDS = {
    "start_at",
    "end_at",
    "due_at",
    "completed_at",
    "deleted_at",
    "archived_at",
    "target_date",
    "processed_at",
    "generation_started_at",
    "generation_completed_at",
}
DEFAULTS: dict[str, dict] = {
    "project": {
        "name": "Untitled project",
        "description": None,
        "type_key": "project.default",
        "state_key": "active",
        "facet_context": None,
        "facet_scale": None,
        "facet_stage": None,
        "start_at": None,
        "end_at": None,
        "props": {},
        "archived_at": None,
        "deleted_at": None,
        "is_public": False,
        "org_id": None,
        "next_step_short": None,
        "next_step_long": None,
    },
    "task": {
        "title": "Untitled task",
        "description": None,
        "type_key": "task.default",
        "state_key": "todo",
        "priority": 3,
        "start_at": None,
        "due_at": None,
        "completed_at": None,
        "facet_scale": None,
        "props": {},
        "archived_at": None,
        "deleted_at": None,
    },
    "goal": {
        "name": "Untitled goal",
        "goal": None,
        "description": None,
        "type_key": "goal.outcome",
        "state_key": "active",
        "target_date": None,
        "completed_at": None,
        "props": {},
        "archived_at": None,
        "deleted_at": None,
    },
    "plan": {
        "name": "Untitled plan",
        "plan": None,
        "description": None,
        "type_key": "plan.timebox",
        "state_key": "draft",
        "facet_context": None,
        "facet_scale": None,
        "facet_stage": None,
        "props": {},
        "archived_at": None,
        "deleted_at": None,
    },
    "milestone": {
        "title": "Untitled milestone",
        "milestone": None,
        "description": None,
        "type_key": "milestone.checkpoint",
        "state_key": "pending",
        "due_at": None,
        "completed_at": None,
        "props": {},
        "archived_at": None,
        "deleted_at": None,
    },
    "document": {
        "title": "Untitled document",
        "description": None,
        "type_key": "document.note",
        "state_key": "draft",
        "children": [],
        "props": {},
        "archived_at": None,
        "deleted_at": None,
    },
    "event": {
        "owner_entity_type": "project",
        "owner_entity_id": None,
        "title": "Event",
        "description": None,
        "start_at": None,
        "end_at": None,
        "all_day": False,
        "timezone": "UTC",
        "state_key": "scheduled",
        "type_key": "event.meeting",
        "recurrence": None,
        "sync_status": "synced",
        "props": {},
        "deleted_at": None,
    },
    "braindump": {
        "title": None,
        "topics": [],
        "summary": None,
        "content": "",
        "status": "processed",
        "error_message": None,
        "processed_at": None,
        "metadata": {},
        "chat_session_id": None,
    },
    "brief": {
        "brief_date": None,
        "executive_summary": None,
        "llm_analysis": None,
        "priority_actions": [],
        "generation_status": "completed",
        "generation_error": None,
        "generation_started_at": None,
        "generation_completed_at": None,
        "metadata": {},
    },
}


# The values the API serves; a file that writes another one is refused, naming the field.
ENUMS: dict[tuple[str, str], frozenset[str]] = {
    ("project", "state_key"): frozenset({"planning", "active", "paused", "completed", "cancelled"}),
    ("task", "state_key"): frozenset({"todo", "in_progress", "blocked", "done"}),
    ("goal", "state_key"): frozenset({"draft", "active", "achieved", "abandoned"}),
    ("milestone", "state_key"): frozenset({"pending", "in_progress", "completed"}),
    ("plan", "state_key"): frozenset({"draft", "active", "completed"}),
    ("braindump", "status"): frozenset({"pending", "processing", "processed", "failed"}),
    ("brief", "generation_status"): frozenset({"pending", "processing", "completed", "failed"}),
    **{
        (kind, "facet_scale"): frozenset({"micro", "small", "medium", "large", "epic"})
        for kind in ("project", "task", "plan")
    },
}


def _check_enums(kind: str, fields: dict, where: str) -> None:
    for (enum_kind, name), allowed in ENUMS.items():
        value = fields.get(name)
        if enum_kind == kind and value is not None and value not in allowed:
            raise WorkspaceFileError(
                f"{where}: {name} {value!r} is not one the API serves "
                f"({', '.join(sorted(allowed))})"
            )


class WorkspaceFileError(ValueError):
    """A workspace file that cannot be read; the message names the entity and the field."""


def load_workspace(path: str | Path) -> Workspace:
    try:
        data = orjson.loads(Path(path).read_bytes())
    except orjson.JSONDecodeError as exc:
        raise WorkspaceFileError(f"{path}: not valid JSON ({exc})") from exc
    return workspace_from_dict(data, source=str(path))


def workspace_from_dict(data: dict, source: str = "<dict>") -> Workspace:
    if data.get("format", FORMAT) != FORMAT:
        raise WorkspaceFileError(f"{source}: format {data.get('format')!r}, expected {FORMAT!r}")
    if "now" not in data:
        raise WorkspaceFileError(f"{source}: missing field 'now'")
    now = _ts(data["now"], f"{source}: now")
    horizon = (
        _ts(data["horizon"], f"{source}: horizon") if data.get("horizon") else now + 30 * US_PER_DAY
    )
    accounts = [
        _account(item, index, source, data.get("auto_has_edges", True))
        for index, item in enumerate(data.get("accounts") or [])
    ]
    if not accounts:
        raise WorkspaceFileError(f"{source}: a workspace needs at least one account")
    return Workspace(accounts=accounts, now=now, horizon=horizon, origin="file")


def _ts(value, where: str) -> int:
    if not isinstance(value, str):
        raise WorkspaceFileError(f"{where}: expected an ISO 8601 timestamp, got {value!r}")
    try:
        return parse_ts(value)
    except ValueError as exc:
        raise WorkspaceFileError(f"{where}: {value!r} is not an ISO 8601 timestamp") from exc


def _stable_id(*parts) -> str:
    return str(uuid.uuid5(FILE_NAMESPACE, "/".join(str(p) for p in parts)))


def _account(item: dict, index: int, source: str, auto_has_edges: bool) -> Account:
    email, password, api_key = account_credentials(index)
    email = item.get("email", email)
    account = Account(
        id=item.get("id") or _stable_id(email, "account"),
        actor_id=item.get("actor_id") or _stable_id(email, "actor"),
        email=email,
        password=item.get("password", password),
        api_key=item.get("api_key", api_key),
        name=item.get("name", email.split("@")[0]),
    )
    where = f"{source}: account {email}"
    for p, project_item in enumerate(item.get("projects") or []):
        project = _entity(
            "project", project_item, account, None, f"{where} project[{p}]", (email, "project", p)
        )
        account.projects.append(project)
        kinds = {project.id: "project"}
        children: list[Entity] = []
        edges: list[Entity] = []
        for list_name, kind in CHILD_LISTS.items():
            for c, child_item in enumerate(project_item.get(list_name) or []):
                child = _entity(
                    kind,
                    child_item,
                    account,
                    project.id,
                    f"{where} project {project.id} {list_name}[{c}]",
                    (project.id, kind, c),
                )
                if kind == "task":
                    child.base.setdefault("created_by", account.actor_id)
                children.append(child)
                kinds[child.id] = kind
                if auto_has_edges:
                    edges.append(
                        _edge(
                            project.id,
                            account,
                            f"has_{kind}",
                            project.id,
                            child.id,
                            kinds,
                            child.created_at,
                            (child.id, "has"),
                            where,
                        )
                    )
        account.children[project.id] = children
        events = [
            _entity(
                "event",
                e,
                account,
                project.id,
                f"{where} project {project.id} events[{n}]",
                (project.id, "event", n),
            )
            for n, e in enumerate(project_item.get("events") or [])
        ]
        account.events[project.id] = events
        for n, edge_item in enumerate(project_item.get("edges") or []):
            edge_where = f"{where} project {project.id} edges[{n}]"
            for key in ("src_id", "dst_id", "rel"):
                if not edge_item.get(key):
                    raise WorkspaceFileError(f"{edge_where}: missing field {key!r}")
            created = (
                _ts(edge_item["created_at"], f"{edge_where}: created_at")
                if edge_item.get("created_at")
                else project.created_at
            )
            edge = _edge(
                project.id,
                account,
                edge_item["rel"],
                edge_item["src_id"],
                edge_item["dst_id"],
                kinds,
                created,
                (project.id, "edge", n),
                edge_where,
                edge_id=edge_item.get("id"),
            )
            if edge_item.get("removed_at"):
                edge.changes.append(
                    Change(
                        at=_ts(edge_item["removed_at"], f"{edge_where}: removed_at"),
                        fields={"_removed": True},
                    )
                )
            edges.append(edge)
        account.edges[project.id] = edges
    account.braindumps = [
        _entity("braindump", b, account, None, f"{where} braindumps[{n}]", (email, "dump", n))
        for n, b in enumerate(item.get("braindumps") or [])
    ]
    account.briefs = [
        _entity("brief", b, account, None, f"{where} briefs[{n}]", (email, "brief", n))
        for n, b in enumerate(item.get("briefs") or [])
    ]
    for entity in account.all_entities():
        normalize_changes(entity)
    for project in account.projects:
        remove_edges_of_deleted(account.edges[project.id], account.children[project.id])
    return account


def _edge(
    project_id: str,
    account: Account,
    rel: str,
    src: str,
    dst: str,
    kinds: dict,
    created: int,
    id_parts: tuple,
    where: str,
    edge_id: str | None = None,
) -> Entity:
    for end in (src, dst):
        if end not in kinds:
            raise WorkspaceFileError(f"{where}: edge end {end!r} is not an entity of the project")
    edge_id = edge_id or _stable_id(*id_parts)
    return Entity(
        kind="edge",
        id=edge_id,
        account_id=account.id,
        project_id=project_id,
        created_at=created,
        base={
            "id": edge_id,
            "project_id": project_id,
            "src_kind": kinds[src],
            "src_id": src,
            "dst_kind": kinds[dst],
            "dst_id": dst,
            "rel": rel,
            "props": {},
        },
    )


def _normalize_fields(fields: dict, where: str) -> dict:
    for name in TIMESTAMP_FIELDS & fields.keys():
        if fields[name] is not None:
            fields[name] = iso(_ts(fields[name], f"{where}: {name}"))
    return fields


def _entity(
    kind: str, item: dict, account: Account, project_id: str | None, where: str, id_parts: tuple
) -> Entity:
    if not isinstance(item, dict):
        raise WorkspaceFileError(f"{where}: expected an object, got {type(item).__name__}")
    if "created_at" not in item:
        raise WorkspaceFileError(f"{where}: missing field 'created_at'")
    created = _ts(item["created_at"], f"{where}: created_at")
    entity_id = item.get("id") or _stable_id(*id_parts)
    # Key order as the simulator writes rows, so a dumped workspace serves identical bytes.
    base: dict = {"id": entity_id}
    if project_id is not None:
        base["project_id"] = project_id
    elif kind == "project":
        project_id = entity_id
    if kind in ("braindump", "brief"):
        base["user_id"] = account.id
    base.update({k: v for k, v in item.items() if k not in RESERVED and k not in base})
    for key, value in DEFAULTS[kind].items():
        base.setdefault(key, value)
    if kind == "project":
        base.setdefault("created_by", account.actor_id)
    _normalize_fields(base, f"{where} ({entity_id})")
    _check_enums(kind, base, f"{where} ({entity_id})")
    entity = Entity(
        kind=kind,
        id=entity_id,
        account_id=account.id,
        project_id=project_id,
        created_at=created,
        base=base,
        created_logged=bool(item.get("created_logged", True)),
    )
    for n, change in enumerate(item.get("changes") or []):
        change_where = f"{where} ({entity_id}) changes[{n}]"
        if not isinstance(change, dict) or "at" not in change:
            raise WorkspaceFileError(f"{change_where}: each change needs an 'at' timestamp")
        fields = {k: v for k, v in change.items() if k not in ("at", "logged", "actor")}
        if fields.pop("removed", False):
            fields["_removed"] = True
        _check_enums(kind, fields, change_where)
        entity.changes.append(
            Change(
                at=_ts(change["at"], f"{change_where}: at"),
                fields=_normalize_fields(fields, change_where),
                logged=bool(change.get("logged", True)),
                actor=change.get("actor", "user"),
            )
        )
    return entity


def dump_workspace(workspace: Workspace) -> dict:
    """The workspace as a file that loads back into the same workspace (all edges explicit)."""

    def entity_dict(entity: Entity) -> dict:
        item = {k: v for k, v in entity.base.items() if k not in ("project_id", "user_id")}
        item["created_at"] = iso(entity.created_at)
        if not entity.created_logged:
            item["created_logged"] = False
        item["changes"] = [_change_dict(c) for c in entity.changes]
        return item

    accounts = []
    for account in workspace.accounts:
        projects = []
        for project in account.projects:
            item = entity_dict(project)
            for list_name, kind in CHILD_LISTS.items():
                item[list_name] = [
                    entity_dict(c) for c in account.children[project.id] if c.kind == kind
                ]
            item["events"] = [entity_dict(e) for e in account.events[project.id]]
            item["edges"] = [_edge_dict(e) for e in account.edges[project.id]]
            projects.append(item)
        accounts.append(
            {
                "id": account.id,
                "actor_id": account.actor_id,
                "email": account.email,
                "password": account.password,
                "api_key": account.api_key,
                "name": account.name,
                "projects": projects,
                "braindumps": [entity_dict(b) for b in account.braindumps],
                "briefs": [entity_dict(b) for b in account.briefs],
            }
        )
    return {
        "format": FORMAT,
        "now": iso(workspace.now),
        "horizon": iso(workspace.horizon),
        "auto_has_edges": False,
        "accounts": accounts,
    }


def _change_dict(change: Change) -> dict:
    item = {"at": iso(change.at)}
    for key, value in change.fields.items():
        item["removed" if key == "_removed" else key] = value
    if not change.logged:
        item["logged"] = False
    if change.actor != "user":
        item["actor"] = change.actor
    return item


def _edge_dict(edge: Entity) -> dict:
    removed = next((c.at for c in edge.changes if c.fields.get("_removed")), None)
    item = {
        "id": edge.id,
        "created_at": iso(edge.created_at),
        "src_id": edge.base["src_id"],
        "dst_id": edge.base["dst_id"],
        "rel": edge.base["rel"],
    }
    if removed is not None:
        item["removed_at"] = iso(removed)
    return item
