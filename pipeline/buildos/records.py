"""What each BuildOS entity looks like once landed: its typed columns (`values` reads a record
against them).

One list of columns per entity drives three things, so they cannot drift apart: the parser that
checks each record (and quarantines the ones it cannot read), the Arrow schema of the staged
batches, and the DDL of the current and history tables. The payload itself is kept once, in
raw; current and history rows refer to it by `payload_hash`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

ARROW_TYPES = {
    "varchar": pa.string(),
    "integer": pa.int32(),
    "boolean": pa.bool_(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
    "json": pa.string(),  # JSON text; DuckDB casts it into its JSON type on insert
}


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    required: bool = False
    enum: frozenset[str] | None = None


def _enum(*values: str) -> frozenset[str]:
    return frozenset(values)


PROJECT_STATES = _enum("planning", "active", "paused", "completed", "cancelled")
TASK_STATES = _enum("todo", "in_progress", "blocked", "done")
FACET_SCALES = _enum("micro", "small", "medium", "large", "epic")
FACET_CONTEXTS = _enum(
    "personal",
    "client",
    "commercial",
    "internal",
    "open_source",
    "community",
    "academic",
    "nonprofit",
    "startup",
)
FACET_STAGES = _enum("discovery", "planning", "execution", "launch", "maintenance", "complete")


def _c(
    name: str, type_: str = "varchar", required: bool = False, enum: frozenset[str] | None = None
) -> Column:
    return Column(name, type_, required, enum)


ID = _c("id", required=True)
PROJECT_ID = _c("project_id", required=True)
CREATED = _c("created_at", "timestamptz", required=True)
UPDATED = _c("updated_at", "timestamptz")
LIFECYCLE = (_c("archived_at", "timestamptz"), _c("deleted_at", "timestamptz"))


@dataclass(frozen=True)
class EntitySpec:
    """An entity the sync lands: `name` is its table in raw, buildos and (if kept) history."""

    name: str
    columns: tuple[Column, ...]
    history: bool = False  # keep every distinct version in history.<name>
    id_field: str = "id"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def row_names(self) -> list[str]:
        """The entity's columns as landed: its id field is always called `id`."""
        return ["id" if name == self.id_field else name for name in self.column_names]


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        EntitySpec(
            "projects",
            (
                ID,
                _c("name", required=True),
                _c("description"),
                _c("type_key"),
                _c("state_key", required=True, enum=PROJECT_STATES),
                _c("facet_context", enum=FACET_CONTEXTS),
                _c("facet_scale", enum=FACET_SCALES),
                _c("facet_stage", enum=FACET_STAGES),
                _c("start_at", "timestamptz"),
                _c("end_at", "timestamptz"),
                _c("created_by"),
                _c("is_public", "boolean"),
                _c("next_step_short"),
                _c("next_step_long"),
                CREATED,
                UPDATED,
                *LIFECYCLE,
            ),
            history=True,
        ),
        EntitySpec(
            "tasks",
            (
                ID,
                PROJECT_ID,
                _c("title"),
                _c("description"),
                _c("type_key"),
                _c("state_key", required=True, enum=TASK_STATES),
                _c("priority", "integer"),
                _c("start_at", "timestamptz"),
                _c("due_at", "timestamptz"),
                _c("completed_at", "timestamptz"),
                _c("facet_scale", enum=FACET_SCALES),
                _c("props", "json"),
                _c("created_by"),
                _c("last_changed_by_actor_id"),
                _c("assignees", "json"),
                CREATED,
                UPDATED,
                *LIFECYCLE,
            ),
            history=True,
        ),
        EntitySpec(
            "goals",
            (
                ID,
                PROJECT_ID,
                _c("name"),
                _c("description"),
                _c("type_key"),
                _c(
                    "state_key",
                    required=True,
                    enum=_enum("draft", "active", "achieved", "abandoned"),
                ),
                _c("target_date", "timestamptz"),
                _c("completed_at", "timestamptz"),
                CREATED,
                UPDATED,
                *LIFECYCLE,
            ),
            history=True,
        ),
        EntitySpec(
            "milestones",
            (
                ID,
                PROJECT_ID,
                _c("title"),
                _c("description"),
                _c("type_key"),
                _c(
                    "state_key",
                    required=True,
                    enum=_enum("pending", "in_progress", "completed", "missed"),
                ),
                _c("due_at", "timestamptz"),
                _c("completed_at", "timestamptz"),
                CREATED,
                UPDATED,
                *LIFECYCLE,
            ),
            history=True,
        ),
        EntitySpec(
            "plans",
            (
                ID,
                PROJECT_ID,
                _c("name"),
                _c("description"),
                _c("type_key"),
                _c("state_key", enum=_enum("draft", "active", "completed")),
                CREATED,
                UPDATED,
                *LIFECYCLE,
            ),
        ),
        EntitySpec(
            "documents",
            (
                ID,
                PROJECT_ID,
                _c("title"),
                _c("description"),
                _c("type_key"),
                _c("state_key"),
                CREATED,
                UPDATED,
                *LIFECYCLE,
            ),
        ),
        EntitySpec(
            "edges",
            (
                ID,
                PROJECT_ID,
                _c("src_kind"),
                _c("src_id", required=True),
                _c("dst_kind"),
                _c("dst_id", required=True),
                _c("rel", required=True),
                CREATED,
            ),
        ),
        EntitySpec(
            "logs",
            (
                ID,
                PROJECT_ID,
                _c("entity_type", required=True),
                _c("entity_id", required=True),
                _c("action", required=True, enum=_enum("created", "updated", "deleted")),
                _c("before_data", "json"),
                _c("after_data", "json"),
                _c("changed_by"),
                _c("changed_by_actor_id"),
                _c("change_source"),
                _c("entity_name"),
                _c("changed_by_name"),
                CREATED,
            ),
        ),
        EntitySpec(
            "braindumps",
            (
                ID,
                _c("title"),
                _c("topics", "json"),
                _c("summary"),
                _c("content"),
                _c(
                    "status",
                    required=True,
                    enum=_enum("pending", "processing", "processed", "failed"),
                ),
                _c("error_message"),
                _c("processed_at", "timestamptz"),
                _c("chat_session_id"),
                _c("metadata", "json"),
                CREATED,
                UPDATED,
            ),
        ),
        EntitySpec(
            "briefs",
            (
                ID,
                _c("brief_date", "date", required=True),
                _c("executive_summary"),
                _c("llm_analysis"),
                _c("priority_actions", "json"),
                _c("generation_status", enum=_enum("pending", "processing", "completed", "failed")),
                _c("generation_error"),
                _c("generation_started_at", "timestamptz"),
                _c("generation_completed_at", "timestamptz"),
                CREATED,
                UPDATED,
            ),
        ),
        EntitySpec(
            "events",
            (
                ID,
                PROJECT_ID,
                _c("owner_entity_type"),
                _c("owner_entity_id"),
                _c("title"),
                _c("description"),
                _c("start_at", "timestamptz", required=True),
                _c("end_at", "timestamptz"),
                _c("all_day", "boolean"),
                _c("timezone"),
                _c("state_key"),
                _c("type_key"),
                CREATED,
                UPDATED,
                _c("deleted_at", "timestamptz"),
            ),
        ),
        EntitySpec(
            "calendar_items",
            (
                _c("calendar_item_id", required=True),
                _c("item_type"),
                _c("item_kind"),
                _c("source_table"),
                _c("project_id"),
                _c("task_id"),
                _c("event_id"),
                _c("title"),
                _c("start_at", "timestamptz", required=True),
                _c("end_at", "timestamptz"),
                _c("state_key"),
                _c("type_key"),
                CREATED,
                UPDATED,
            ),
            id_field="calendar_item_id",
        ),
    )
}

# Free text, stored with zstd in every table: DuckDB's default (dictionary, FSST) suits short
# repeated values, and on these columns zstd keeps the file about 40% smaller (JSON columns
# are compressed the same way).
FREE_TEXT = frozenset(
    {
        "name",
        "title",
        "description",
        "content",
        "summary",
        "llm_analysis",
        "executive_summary",
        "next_step_short",
        "next_step_long",
        "entity_name",
        "error_message",
        "generation_error",
    }
)

# Columns every landed table has beside the entity's own (raw adds the payload itself).
KEY_TYPES = (("account_id", "varchar"), ("id", "varchar"))
LINEAGE_TYPES = (
    ("payload_hash", "varchar"),
    ("_synced_at", "timestamptz"),
    ("_sync_id", "varchar"),
)


def arrow_types(spec: EntitySpec) -> list[pa.DataType]:
    """The Arrow type of each of `spec.columns`, in order."""
    return [ARROW_TYPES[column.type] for column in spec.columns]


def column_ddl(name: str, kind: str) -> str:
    """One column of a landed table's DDL, with its compression."""
    zstd = kind == "json" or name in FREE_TEXT
    return f"{name} {kind} using compression zstd" if zstd else f"{name} {kind}"


def table_columns(spec: EntitySpec) -> list[tuple[str, str]]:
    """(name, DuckDB type) of the current table, in order; history adds its validity."""
    columns = list(KEY_TYPES)
    columns += [(c.name, c.type) for c in spec.columns if c.name not in ("id", spec.id_field)]
    return columns + list(LINEAGE_TYPES)
