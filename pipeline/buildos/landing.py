"""Landing one account's sync: parsed records staged as Arrow batches in unindexed temporary
tables, then one set-based merge into raw, current and history, in one transaction.

A merge's cost follows the records the sync staged, not what the warehouse holds: every
statement reads the account's own rows (DuckDB skips other accounts' row groups by their
min/max) and the landed tables carry no index to maintain. A sync killed before the merge
commits leaves the tables as they were, and the next sync starts again from them.
"""

from __future__ import annotations

import logging

import duckdb
import orjson
import pyarrow as pa

from pipeline import warehouse
from pipeline.buildos.records import ENTITIES, EntitySpec, arrow_types, column_ddl, table_columns
from pipeline.buildos.values import RecordError, hash_text, payload_text, read_values, repair_text
from pipeline.paths import SQL_DIR

LOG = logging.getLogger(__name__)

SQL = SQL_DIR / "buildos"
QUARANTINE_SCHEMA = pa.schema(
    [
        ("entity", pa.string()),
        ("record_id", pa.string()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("payload", pa.string()),
        ("payload_hash", pa.string()),
        ("disposition", pa.string()),  # rejected (not landed) or repaired (landed, flagged)
    ]
)
SEEN_SCHEMA = pa.schema([("entity", pa.string()), ("id", pa.string())])
SCOPE_SCHEMA = pa.schema([("scope_id", pa.string())])


def render(name: str, **identifiers: str | list[str]) -> list[str]:
    return warehouse.render_sql(SQL / f"{name}.sql", **identifiers)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table the sync writes (idempotent)."""
    warehouse.run_statements(con, render("create_schemas"))
    warehouse.run_statements(con, render("create_meta_tables"))
    for spec in ENTITIES.values():
        warehouse.run_statements(con, entity_ddl(spec))


def entity_ddl(spec: EntitySpec) -> list[str]:
    """DDL of raw.<entity>, buildos.<entity> and, for kept entities, history.<entity>, built
    from the entity's columns so the parser, the Arrow batches and the tables agree. No
    primary keys: the merge keeps them unique, and an index would make every commit pay for
    the rows already landed."""
    columns = table_columns(spec)
    body = ",\n    ".join(column_ddl(name, kind) for name, kind in columns)
    statements = [
        f"create table if not exists raw.{spec.name} (\n"
        "    account_id varchar not null,\n    id varchar not null,\n"
        "    payload_hash varchar not null,\n"
        "    payload json not null using compression zstd,\n"
        "    _synced_at timestamptz not null,\n    _sync_id varchar not null\n)",
        f"create table if not exists buildos.{spec.name} (\n    {body},\n"
        "    _removed_at timestamptz\n)",
    ]
    if spec.history:
        statements.append(
            f"create table if not exists history.{spec.name} (\n    {body},\n"
            "    valid_from timestamptz not null,\n    valid_to timestamptz\n)"
        )
    return statements


class SyncDatabaseSettings:
    """The database's settings while a sync lands, put back at its end (they are the
    database's, not the connection's; a database shared by accounts gets them back once the
    first of them ends).

    - Checkpoints held back, and one at the end. DuckDB checkpoints when the WAL passes
      16 MiB, and each checkpoint rewrites the tables' last, still growing row groups: an
      account landed in groups left a third of its file as free blocks, and did that writing
      again for every group.
    - A memory limit (the account's share of `SyncOptions.duckdb_memory_mb`, at most
      `MEMORY_LIMIT`): by default DuckDB may keep 80% of the machine's memory
      in its buffers, per database, and accounts syncing at once each have their own; what
      passes the limit spills beside the file (`warehouse.connect` sets the folder). Data
      committed and not yet checkpointed is among what spills, so holding checkpoints back
      does not make an account's memory grow with its size. At 4 accounts x 100 x 220 side by
      side the 4 databases held 894 MB at the process's peak with 256 MB each (1,626 MB RSS),
      484 MB with 128 MB each (1,155 MB RSS), for more CPU (49 s against 39 s, one run each,
      on a loaded machine: the spilling);
      checkpointing every 128 MB of WAL instead gave the same memory and 14% larger files."""

    MEMORY_LIMIT = "128MB"

    def __init__(self, con: duckdb.DuckDBPyConnection, memory_limit: str | None = None):
        self.con = con
        [self.previous] = con.execute(
            "select current_setting('checkpoint_threshold'), current_setting('memory_limit')"
        ).fetchall()
        con.execute("set checkpoint_threshold = ?", ["1TB"])
        con.execute("set memory_limit = ?", [memory_limit or self.MEMORY_LIMIT])

    def end(self) -> None:
        """Put the settings back and checkpoint what the sync landed (its WAL into the
        file)."""
        self._roll_back_what_a_failed_merge_left()
        threshold, memory_limit = self.previous
        self.con.execute("set checkpoint_threshold = ?", [threshold])
        self.con.execute("set memory_limit = ?", [memory_limit])
        try:
            self.con.execute("checkpoint")
        except duckdb.TransactionException as error:
            # Another account's write transaction on the same database (run_sync lands every
            # account in one file): its own sync's checkpoint, or DuckDB's, takes the WAL.
            LOG.info("the checkpoint is left to DuckDB: %s", error)

    def _roll_back_what_a_failed_merge_left(self) -> None:
        """A merge that failed mid-way may have left its transaction open or aborted: none of
        it is kept (the next sync redoes that group), and the error that stopped the sync, not
        one of this cleanup, is what gets reported. `begin` is refused inside a transaction."""
        try:
            self.con.execute("begin")
        except duckdb.TransactionException as error:
            LOG.warning("rolled back the transaction a failed merge left open: %s", error)
            self.con.execute("rollback")
        else:
            self.con.execute("commit")


class _Columns:
    """One entity's parsed records, column by column, until they are staged."""

    def __init__(self, spec: EntitySpec):
        self.spec = spec
        self.values: list[list] = [[] for _ in spec.columns]
        self.hashes: list[str] = []
        self.payloads: list[str] = []

    def __len__(self) -> int:
        return len(self.hashes)

    def append(self, values: tuple, text: bytes) -> None:
        for column, value in zip(self.values, values, strict=True):
            column.append(value)
        self.hashes.append(hash_text(text))
        self.payloads.append(text.decode())

    def extend(self, other: _Columns) -> None:
        for column, values in zip(self.values, other.values, strict=True):
            column.extend(values)
        self.hashes.extend(other.hashes)
        self.payloads.extend(other.payloads)

    def to_arrow(self) -> pa.Table:
        """The staged records as one Arrow table, each id once: the same record staged twice
        (pages shifting under the sync) keeps the last one staged. Checked here, where a set
        of the ids costs little, so the merge needs no window over every staged row."""
        arrays = [
            pa.array(values, type=kind)
            for values, kind in zip(self.values, arrow_types(self.spec), strict=True)
        ]
        arrays += [pa.array(self.hashes, pa.string()), pa.array(self.payloads, pa.string())]
        names = [*self.spec.row_names, "payload_hash", "payload"]
        table = pa.Table.from_arrays(arrays, names=names)
        ids = self.values[0]  # every entity's id is its first column
        if len(set(ids)) < len(ids):
            last = {record_id: index for index, record_id in enumerate(ids)}
            table = table.take(sorted(last.values()))
        return table


class Group:
    """Records of whole projects (and, last, the account-level ones), merged together. Also
    one project's records while it is fetched, parsed as each answer arrives, then adopted
    into the open group once the project is whole (`AccountStage.adopt`)."""

    def __init__(self):
        self.pending = {name: _Columns(spec) for name, spec in ENTITIES.items()}
        self.quarantine: list[dict] = []
        self.seen: list[tuple[str, str]] = []  # (entity, id) in the refetched scopes
        self.scopes: dict[str, set[str]] = {}  # scope column -> refetched scope ids
        self.removal: list[tuple[str, str]] = []  # (entity, scope column) to reconcile
        self.vanished: set[str] = set()  # projects the API stopped showing since the last sync

    def rows(self) -> int:
        return sum(len(columns) for columns in self.pending.values())


class AccountStage:
    """What one account's sync has read and not landed yet, column by column, with what it
    proves was seen. `add` parses; `take` hands over the group to merge (whole projects, so
    removals are decided per refetched project), and a new group starts."""

    def __init__(self, con: duckdb.DuckDBPyConnection, account_id: str, sync_id: str, at):
        self.con, self.account_id, self.sync_id, self.synced_at = con, account_id, sync_id, at
        self.group = Group()
        self.quarantined = 0
        self.repaired = 0
        self.quarantine_examples: list[str] = []

    # The open group's bookkeeping, as the sync fills it in.
    @property
    def seen(self) -> list[tuple[str, str]]:
        return self.group.seen

    @property
    def scopes(self) -> dict[str, set[str]]:
        return self.group.scopes

    @property
    def removal(self) -> list[tuple[str, str]]:
        return self.group.removal

    def add(
        self,
        entity: str,
        records: list,
        fallback: dict | None = None,
        seen: bool = False,
        into: Group | None = None,
    ) -> None:
        """Parse `records` into the open group, or into `into` (a project being fetched:
        its quarantine is counted when it is adopted)."""
        spec = ENTITIES[entity]
        group = into or self.group
        pending = group.pending[entity]
        for record in records:
            try:
                text = payload_text(record)
            except TypeError:  # a lone surrogate: orjson refuses text that is not UTF-8
                text = b"\\u0000"
            repaired = None
            if b"\\u0000" in text:
                record, repaired = repair_text(record)
                text = payload_text(record)
            try:
                values = read_values(spec, record, fallback)
            except RecordError as error:
                self._quarantine(group, entity, error, text)
                if seen and error.record_id:
                    group.seen.append((entity, error.record_id))  # known, just unreadable
                continue
            if repaired:
                # Invalid text replaced (U+FFFD) and NUL removed: the record lands, flagged.
                reason = "invalid text (lone surrogate, invalid UTF-8 or NUL) replaced"
                flag = RecordError(entity, values[0], ",".join(repaired), reason)
                self._quarantine(group, entity, flag, text, "repaired")
            pending.append(values, text)
            if seen:
                group.seen.append((entity, values[0]))

    def reject(self, entity: str, record, field: str, reason: str) -> None:
        """Quarantine a record the sync refuses before parsing it (a listed item whose id
        cannot go into a route)."""
        try:
            text = payload_text(record)
        except TypeError:
            text = payload_text(repair_text(record)[0])
        raw_id = record.get("id") if isinstance(record, dict) else None
        record_id = raw_id if isinstance(raw_id, str) and raw_id else None
        self._quarantine(self.group, entity, RecordError(entity, record_id, field, reason), text)

    def vanish(self, project_ids: set[str]) -> None:
        self.group.vanished |= project_ids

    def _quarantine(
        self,
        group: Group,
        entity: str,
        error: RecordError,
        text: bytes,
        disposition: str = "rejected",
    ) -> None:
        entry = {
            "entity": entity,
            "record_id": error.record_id,
            "field": error.field,
            "reason": str(error),
            "payload": text.decode(),
            "payload_hash": hash_text(text),
            "disposition": disposition,
        }
        group.quarantine.append(entry)
        if group is self.group:
            self._count([entry])

    def _count(self, entries: list[dict]) -> None:
        for entry in entries:
            if entry["disposition"] == "repaired":
                self.repaired += 1
            else:
                self.quarantined += 1
            if len(self.quarantine_examples) < 5:
                self.quarantine_examples.append(entry["reason"])

    def adopt(self, project: Group) -> None:
        """A whole project's parsed records (see `add(into=...)`) join the open group."""
        group = self.group
        for name, columns in project.pending.items():
            if len(columns):
                group.pending[name].extend(columns)
        group.quarantine.extend(project.quarantine)
        group.seen.extend(project.seen)
        self._count(project.quarantine)

    def pending_rows(self) -> int:
        return self.group.rows()

    def take(self) -> Group:
        group, self.group = self.group, Group()
        return group

    def merge(self, group: Group | None = None) -> dict[str, int]:
        """A group (by default the open one) into raw, current and history, with its
        removals and quarantine, in one transaction: set-based statements over the group's
        Arrow batches, registered as the unindexed staging tables. Returns the number of
        records per entity that were new or changed."""
        group = group or self.take()
        con = self.con
        con.execute("set variable account_id = ?", [self.account_id])
        con.execute("set variable sync_id = ?", [self.sync_id])
        con.execute("set variable synced_at = ?::timestamptz", [self.synced_at])
        landed: dict[str, int] = {}
        con.begin()
        try:
            for name, columns in group.pending.items():
                if len(columns):
                    con.register(f"stage_{name}", columns.to_arrow())
                    try:
                        landed[name] = _merge_entity(con, ENTITIES[name])
                    finally:
                        con.unregister(f"stage_{name}")
            if group.quarantine:
                quarantined = pa.Table.from_pylist(group.quarantine, schema=QUARANTINE_SCHEMA)
                con.register("quarantined", quarantined)
                warehouse.run_statements(con, render("insert_quarantined"))
                con.unregister("quarantined")
            if group.removal or group.vanished:
                _mark_removed(con, group)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return {name: count for name, count in landed.items() if count}


def _mark_removed(con: duckdb.DuckDBPyConnection, group: Group) -> None:
    seen = pa.table(
        {"entity": [e for e, _ in group.seen], "id": [i for _, i in group.seen]},
        schema=SEEN_SCHEMA,
    )
    con.register("seen_ids", seen)
    try:
        for entity, scope_column in group.removal:
            _mark(con, entity, scope_column, group.scopes[scope_column])
        if group.vanished:
            # A project the API no longer shows takes its children and logs with it: none
            # of them is returned any more, and a fresh sync would not have them.
            for entity in PROJECT_CHILDREN:
                _mark(con, entity, "project_id", group.vanished)
    finally:
        con.unregister("seen_ids")


PROJECT_CHILDREN = ("tasks", "goals", "plans", "milestones", "documents", "edges", "events", "logs")


def _merge_entity(con: duckdb.DuckDBPyConnection, spec: EntitySpec) -> int:
    columns = [name for name, _ in table_columns(spec)]
    warehouse.run_statements(con, render("stage_changed_records", table=spec.name))
    [(changed,)] = con.execute("select count(*) from changed").fetchall()
    if changed:
        warehouse.run_statements(con, render("insert_raw_payloads", table=spec.name))
        warehouse.run_statements(
            con, render("merge_into_current", table=spec.name, columns=columns)
        )
        if spec.history:
            warehouse.run_statements(
                con, render("snapshot_history", table=spec.name, columns=columns)
            )
    con.execute("drop table changed")
    return changed


def _mark(con, entity: str, scope_column: str, scope_ids: set[str]) -> None:
    spec = ENTITIES[entity]
    con.register("refetched_scope", pa.table({"scope_id": sorted(scope_ids)}, SCOPE_SCHEMA))
    try:
        statements = render("mark_removed", table=spec.name, scope_column=scope_column)
        if spec.history:
            statements += render("close_removed_history", table=spec.name)
        warehouse.run_statements(con, statements)
    finally:
        con.unregister("refetched_scope")


def stored_payloads(
    con: duckdb.DuckDBPyConnection, entity: str, account_id: str, ids: list[str]
) -> dict[str, tuple[str | None, dict]]:
    """The project and the decoded current payload of each of `ids` (live rows of one
    account)."""
    spec = ENTITIES[entity]
    con.register("wanted", pa.table({"id": ids}, pa.schema([("id", pa.string())])))
    try:
        rows = con.execute(
            f"select c.id, c.project_id, r.payload from buildos.{spec.name} as c "
            f"join raw.{spec.name} as r using (account_id, id, payload_hash) "
            "where c.account_id = ? and c._removed_at is null "
            "and c.id in (select id from wanted) and r.account_id = ?",
            [account_id, account_id],
        ).fetchall()
    finally:
        con.unregister("wanted")
    return {record_id: (project, orjson.loads(payload)) for record_id, project, payload in rows}
