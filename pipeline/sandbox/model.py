"""The sandbox's workspace model: every entity is a base row plus timestamped changes.

The simulator and the workspace-file loader both produce this model; the server and the ground
truth both read it, so what the routes serve and what the truth says can never drift apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND

# kind -> (state that means finished, timestamp set while in it)
COMPLETION_RULES: dict[str, tuple[str, str]] = {
    "task": ("done", "completed_at"),
    "goal": ("achieved", "completed_at"),
    "milestone": ("completed", "completed_at"),
}

# Fields the real app writes into task log snapshots (the API contract, section "log").
TASK_LOG_CREATED_FIELDS = ("title", "type_key", "state_key", "start_at", "due_at")
TASK_LOG_UPDATED_FIELDS = ("title", "state_key", "start_at", "due_at", "props")
NAME_FIELD = {
    "project": "name",
    "goal": "name",
    "plan": "name",
    "task": "title",
    "milestone": "title",
    "document": "title",
    "edge": "rel",
    "event": "title",
}


def to_us(value: datetime) -> int:
    """Microseconds since the epoch for an aware datetime."""
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def from_us(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def iso(value: int | None) -> str | None:
    """The API's timestamp format (PostgREST style: microseconds and a +00:00 offset)."""
    if value is None:
        return None
    return from_us(value).isoformat(timespec="microseconds")


def parse_ts(value: str) -> int:
    """Parse an ISO 8601 timestamp or date (a bare date is midnight UTC) into microseconds."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return to_us(parsed)


def make_uuid(rng) -> str:
    """A version-4 UUID drawn from a seeded random.Random, so ids are reproducible."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


LOG_NAMESPACE = uuid.UUID("6f1c1c8e-5d0a-4c1e-9a43-2b7e0f6d9a10")


def log_id(entity_id: str, index: int) -> str:
    """Log ids are derived from the entity and the change index: stable across restarts."""
    return str(uuid.uuid5(LOG_NAMESPACE, f"{entity_id}:{index}"))


@dataclass(slots=True)
class Change:
    """Fields an entity took at `at`. `logged` is False for changes the app wrote no log for."""

    at: int
    fields: dict
    logged: bool = True
    actor: str = "user"  # user | agent | system: only shapes change_source in the logs


@dataclass(slots=True)
class Entity:
    kind: str
    id: str
    account_id: str
    project_id: str | None
    created_at: int
    base: dict
    changes: list[Change] = field(default_factory=list)
    created_logged: bool = True

    def state_at(self, at: int) -> dict | None:
        """The row as the database held it at `at`, or None before it existed."""
        if self.created_at > at:
            return None
        row = dict(self.base)
        updated = self.created_at
        for change in self.changes:
            if change.at > at:
                break
            row.update(change.fields)
            updated = change.at
        row["created_at"] = iso(self.created_at)
        if self.kind != "edge":  # edges have no updated_at column
            row["updated_at"] = iso(updated)
        return row

    def is_deleted_at(self, at: int) -> bool:
        """Soft-deleted (deleted_at set) or hard-deleted (edges) as of `at`."""
        for change in self.changes:
            if change.at > at:
                break
            if change.fields.get("deleted_at") or change.fields.get("_removed"):
                return True
        return False


@dataclass(slots=True)
class Account:
    """One BuildOS user. `id` is the user id; it is the pipeline's `account_id`."""

    id: str
    actor_id: str
    email: str
    password: str
    api_key: str
    name: str
    projects: list[Entity] = field(default_factory=list)
    children: dict[str, list[Entity]] = field(default_factory=dict)  # project_id -> entities
    edges: dict[str, list[Entity]] = field(default_factory=dict)  # project_id -> edges
    events: dict[str, list[Entity]] = field(default_factory=dict)  # project_id -> events
    braindumps: list[Entity] = field(default_factory=list)
    briefs: list[Entity] = field(default_factory=list)

    def all_entities(self):
        yield from self.projects
        for group in (self.children, self.edges, self.events):
            for items in group.values():
                yield from items
        yield from self.braindumps
        yield from self.briefs


@dataclass(slots=True)
class Workspace:
    """Every account with its full simulated history, and the simulated clock."""

    accounts: list[Account]
    now: int
    horizon: int  # the simulation holds activity up to here; the clock cannot pass it
    origin: str = "generated"  # generated | file

    def account_by_id(self, account_id: str) -> Account | None:
        for account in self.accounts:
            if account.id == account_id:
                return account
        return None


def normalize_changes(entity: Entity) -> None:
    """Apply the app's own bookkeeping to a change list, the way its database code does.

    Sorts the changes, sets or clears completed_at when a task, goal or milestone enters or
    leaves its finished state (unless the change set it itself), and turns `deleted: true` into
    deleted_at. Both the simulator and hand-written workspace files go through this.
    """
    entity.changes.sort(key=lambda change: change.at)
    rule = COMPLETION_RULES.get(entity.kind)
    state = entity.base.get("state_key")
    for change in entity.changes:
        fields = change.fields
        if fields.pop("deleted", False):
            fields["deleted_at"] = iso(change.at)
        new_state = fields.get("state_key")
        if rule and new_state is not None and new_state != state and rule[1] not in fields:
            done_state, stamp = rule
            if new_state == done_state:
                fields[stamp] = iso(change.at)
            elif state == done_state:
                fields[stamp] = None
        if new_state is not None:
            state = new_state
    if rule and entity.base.get("state_key") == rule[0] and not entity.base.get(rule[1]):
        entity.base[rule[1]] = iso(entity.created_at)


def remove_edges_of_deleted(edges: list[Entity], children: list[Entity]) -> None:
    """Edges to or from a deleted task go with it, as the app removes them (edges have no soft
    delete). Call after normalize_changes, when deletions carry deleted_at."""
    deleted_at = {
        child.id: change.at
        for child in children
        for change in child.changes
        if change.fields.get("deleted_at")
    }
    for edge in edges:
        if any(change.fields.get("_removed") for change in edge.changes):
            continue
        ends = [
            deleted_at[x] for x in (edge.base["src_id"], edge.base["dst_id"]) if x in deleted_at
        ]
        if ends:
            edge.changes.append(Change(at=min(ends), fields={"_removed": True}))
            edge.changes.sort(key=lambda change: change.at)
