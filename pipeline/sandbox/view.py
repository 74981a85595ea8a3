"""The workspace as the BuildOS database holds it at the simulated `now`.

Rows are materialized once per clock position (per project, on first use) and shared by every
request, so a request only filters, slices and serializes.
"""

from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass, field

from pipeline.sandbox.model import (
    NAME_FIELD,
    TASK_LOG_CREATED_FIELDS,
    TASK_LOG_UPDATED_FIELDS,
    Account,
    Entity,
    Workspace,
    iso,
    log_id,
    parse_ts,
)

# What the app snapshots into log before/after data, per entity type. Tasks follow the contract
# exactly (no priority, no completed_at); the other kinds keep their name and state fields.
LOG_FIELDS = {
    "project": ("name", "state_key", "start_at", "end_at", "next_step_short"),
    "goal": ("name", "state_key", "target_date"),
    "milestone": ("title", "state_key", "due_at"),
    "plan": ("name", "state_key"),
    "document": ("title", "state_key"),
}
CHANGE_SOURCE = {"user": "ui", "agent": "chat", "system": "api"}


@dataclass(slots=True)
class ProjectView:
    project: dict
    entity: Entity
    tasks: list[dict] = field(default_factory=list)
    deleted_tasks: list[dict] = field(default_factory=list)
    goals: list[dict] = field(default_factory=list)
    plans: list[dict] = field(default_factory=list)
    milestones: list[dict] = field(default_factory=list)
    documents: list[dict] = field(default_factory=list)
    edges: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)  # newest first; edges are never logged here


class WorkspaceView:
    """Read-only rows at one clock position. Build a new one when the clock moves."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self.now = workspace.now
        self.now_iso = iso(workspace.now)
        self._lock = threading.Lock()
        self._projects: dict[str, ProjectView] = {}
        self.project_owner: dict[str, tuple[Account, Entity]] = {}
        self.live_projects: dict[str, list[dict]] = {}
        self.task_counts: dict[str, int] = {}
        for account in workspace.accounts:
            rows = []
            for entity in account.projects:
                row = entity.state_at(self.now)
                if row is None or row.get("deleted_at"):
                    continue
                rows.append(row)
                self.project_owner[entity.id] = (account, entity)
                self.task_counts[entity.id] = sum(
                    1
                    for task in account.children[entity.id]
                    if task.kind == "task"
                    and task.created_at <= self.now
                    and not task.is_deleted_at(self.now)
                )
            rows.sort(key=lambda r: (r["updated_at"], r["id"]), reverse=True)
            self.live_projects[account.id] = rows
        self._braindumps: dict[str, list[dict]] = {}
        self._briefs: dict[str, list[dict]] = {}

    def project(self, account: Account, project_id: str) -> ProjectView | None:
        """The project's rows, or None when it is not this account's, not yet created, or
        soft-deleted (all three answer 404 in the API)."""
        owner = self.project_owner.get(project_id)
        if owner is None or owner[0] is not account:
            return None
        cached = self._projects.get(project_id)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._projects.get(project_id)
            if cached is None:
                cached = self._build_project(account, owner[1])
                self._projects[project_id] = cached
        return cached

    def _build_project(self, account: Account, entity: Entity) -> ProjectView:
        now = self.now
        view = ProjectView(project=entity.state_at(now), entity=entity)
        assignee = [{"actor_id": account.actor_id, "name": account.name}]
        names: dict[str, str] = {entity.id: view.project["name"]}
        for child in account.children[entity.id]:
            row = child.state_at(now)
            if row is None:
                continue
            names[child.id] = row.get(NAME_FIELD[child.kind]) or "Untitled"
            if child.kind == "task":
                row["assignees"] = assignee if zlib.crc32(child.id.encode()) % 10 < 7 else []
                row["last_changed_by_actor_id"] = account.actor_id
                (view.deleted_tasks if row["deleted_at"] else view.tasks).append(row)
                continue
            if row["deleted_at"]:
                continue
            if child.kind == "milestone" and _is_missed(row, self.now_iso):
                row["state_key"] = "missed"
            getattr(view, child.kind + "s").append(row)
        for edge in account.edges[entity.id]:
            row = edge.state_at(now)
            if row is not None and not edge.is_deleted_at(now):
                view.edges.append(row)
        for event in account.events[entity.id]:
            row = event.state_at(now)
            if row is not None and not row["deleted_at"]:
                view.events.append(row)
        for rows in (view.tasks, view.goals, view.plans, view.milestones, view.documents):
            rows.sort(key=lambda r: (r["created_at"], r["id"]))
        view.deleted_tasks.sort(key=lambda r: (r["deleted_at"], r["id"]), reverse=True)
        view.edges.sort(key=lambda r: (r["created_at"], r["id"]))
        view.events.sort(key=lambda r: (r["start_at"], r["id"]))
        logs = []
        for item in [entity, *account.children[entity.id]]:
            logs.extend(_logs_of(item, account, now, names))
        logs.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
        view.logs = logs
        return view

    def braindumps(self, account: Account) -> list[dict]:
        rows = self._braindumps.get(account.id)
        if rows is None:
            rows = [r for r in (d.state_at(self.now) for d in account.braindumps) if r]
            rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
            self._braindumps[account.id] = rows
        return rows

    def briefs(self, account: Account) -> list[dict]:
        rows = self._briefs.get(account.id)
        if rows is None:
            rows = [r for r in (b.state_at(self.now) for b in account.briefs) if r]
            rows.sort(key=lambda r: (r["brief_date"], r["id"]), reverse=True)
            self._briefs[account.id] = rows
        return rows


def _is_missed(row: dict, now_iso: str) -> bool:
    return (
        row["state_key"] not in ("completed", "in_progress")
        and row.get("due_at") is not None
        and parse_ts(row["due_at"]) < parse_ts(now_iso)
    )


def _snapshot(row: dict, fields: tuple[str, ...]) -> dict:
    return {name: row.get(name) for name in fields}


def _logs_of(entity: Entity, account: Account, now: int, names: dict[str, str]) -> list[dict]:
    """The app's log rows for one entity: one per logged change up to `now`."""
    if entity.created_at > now:
        return []
    if entity.kind == "task":
        created_fields, updated_fields = TASK_LOG_CREATED_FIELDS, TASK_LOG_UPDATED_FIELDS
    else:
        created_fields = updated_fields = LOG_FIELDS[entity.kind]
    name = names.get(entity.id, entity.base.get(NAME_FIELD[entity.kind]) or "Untitled")
    row = dict(entity.base)
    logs = []

    def log(index: int, at: int, action: str, before, after, actor: str) -> None:
        logs.append(
            {
                "id": log_id(entity.id, index),
                "project_id": entity.project_id,
                "entity_type": entity.kind,
                "entity_id": entity.id,
                "action": action,
                "before_data": before,
                "after_data": after,
                "changed_by": account.id,
                "changed_by_actor_id": account.actor_id,
                "change_source": CHANGE_SOURCE[actor],
                "created_at": iso(at),
                "entity_name": name,
                "changed_by_name": account.name,
            }
        )

    if entity.created_logged:
        log(0, entity.created_at, "created", None, _snapshot(row, created_fields), "user")
    for index, change in enumerate(entity.changes, start=1):
        if change.at > now:
            break
        before = _snapshot(row, updated_fields)
        row.update(change.fields)
        if not change.logged:
            continue
        if change.fields.get("deleted_at") or change.fields.get("_removed"):
            log(index, change.at, "deleted", before, None, change.actor)
        else:
            log(index, change.at, "updated", before, _snapshot(row, updated_fields), change.actor)
    return logs
