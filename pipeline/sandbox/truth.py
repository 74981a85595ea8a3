"""Ground truth: every entity's full history up to the simulated `now`, straight from the model.

Tests compute the true metrics from this, never through the pipeline. It includes what the API
cannot show: changes that left no log, hard-removed edges, and every state interval.
"""

from __future__ import annotations

from pipeline.sandbox.model import Account, Entity, Workspace, iso

TRUTH_VERSION = 1
GROUPS = {
    "project": "projects",
    "task": "tasks",
    "goal": "goals",
    "plan": "plans",
    "milestone": "milestones",
    "document": "documents",
    "edge": "edges",
    "event": "events",
    "braindump": "braindumps",
    "brief": "briefs",
}
STATE_FIELD = {"braindump": "status", "brief": "generation_status"}


def build_truth(workspace: Workspace, account_id: str | None = None) -> dict:
    """{"now", "accounts": [{account_id, email, projects: [...], tasks: [...], ...}]}.

    Each entity: id, project_id, created_at, deleted_at (soft delete, or the removal of an
    edge), `row` (the database row at now, as stored: milestones keep their stored state),
    `changes` (at, fields, logged) and `state_intervals` (state, valid_from, valid_to; the last
    one open with valid_to null). Entities created after now are not included.
    """
    accounts = [a for a in workspace.accounts if account_id in (None, a.id)]
    return {
        "version": TRUTH_VERSION,
        "now": iso(workspace.now),
        "accounts": [_account_truth(account, workspace.now) for account in accounts],
    }


def _account_truth(account: Account, now: int) -> dict:
    result: dict = {"account_id": account.id, "email": account.email, "name": account.name}
    for group in GROUPS.values():
        result[group] = []
    for entity in account.all_entities():
        if entity.created_at <= now:
            result[GROUPS[entity.kind]].append(entity_truth(entity, now))
    for group in GROUPS.values():
        result[group].sort(key=lambda item: (item["created_at"], item["id"]))
    return result


def entity_truth(entity: Entity, now: int) -> dict:
    state_field = STATE_FIELD.get(entity.kind, "state_key")
    changes = [c for c in entity.changes if c.at <= now]
    removed = next(
        (c.at for c in changes if c.fields.get("deleted_at") or c.fields.get("_removed")), None
    )
    intervals = []
    state = entity.base.get(state_field)
    since = entity.created_at
    if state is not None:
        for change in changes:
            new_state = change.fields.get(state_field)
            if new_state is None or new_state == state:
                continue
            intervals.append({"state": state, "valid_from": iso(since), "valid_to": iso(change.at)})
            state, since = new_state, change.at
        intervals.append({"state": state, "valid_from": iso(since), "valid_to": None})
    return {
        "kind": entity.kind,
        "id": entity.id,
        "project_id": entity.project_id,
        "created_at": iso(entity.created_at),
        "deleted_at": iso(removed),
        "created_logged": entity.created_logged,
        "row": entity.state_at(now),
        "changes": [
            {
                "at": iso(c.at),
                "fields": {k: v for k, v in c.fields.items() if k != "_removed"}
                | ({"removed": True} if c.fields.get("_removed") else {}),
                "logged": c.logged,
            }
            for c in changes
        ],
        "state_intervals": intervals,
    }
