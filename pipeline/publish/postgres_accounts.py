"""The per-account publish to PostgreSQL: each account whose release changed gets its rows in
every table replaced in one short transaction; removed accounts are deleted; the rest are not
touched. See pipeline/publish/postgres.py for the layout and when the whole-schema switch is
used instead.

Deleting and copying rows takes only row-exclusive table locks, which no plain reader holds
against it: readers in read committed see an account's previous rows or its new ones in each
statement, readers in repeatable read keep seeing the previous ones until their transaction
ends (MVCC keeps the deleted rows for them). What can make a replace wait is a session that
locked rows (`select ... for share`) or a table (`lock table`); the wait is bounded by
`lock_timeout`, the replace gives way, backs off and retries, and an account still blocked
after its attempts keeps its previous release; the publish goes on with the others and then
fails naming the blockers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlalchemy as sa

from pipeline import safety
from pipeline.publish.postgres_rows import (
    column_names,
    copy_rows,
    digests,
    has_accounts,
    rows_by_account,
    table_batches,
)
from pipeline.publish.postgres_switch import (
    DEADLOCK_DETECTED,
    LOCK_NOT_AVAILABLE,
    SwitchBlocked,
    SwitchPolicy,
    describe_session,
    set_lock_timeout,
    sqlstate,
)

ACCOUNT_RELEASES = "account_releases"
TABLE_DIGESTS = "table_digests"
# Changed accounts whose rows are read from the release together (one read of each file):
# few enough that their rows fit in memory comfortably.
ACCOUNTS_PER_READ = 50

STATE_DDL = [
    "create table {schema}.account_releases (account_id text primary key, "
    "account_release_id text, content_digest text, sync_id text, release_id text not null, "
    "lake_snapshot bigint, published_at timestamptz not null)",
    "comment on table {schema}.account_releases is 'Which release each account''s rows in "
    "the bi_ views are from: account_release_id (the account''s own release, as the lake''s "
    "meta.account_releases names it), sync_id, release_id (the export release they were "
    "written from, unchanged since while the account did not change) and its lake_snapshot.'",
    "create table {schema}.table_digests (table_name text primary key, "
    "content_digest text not null, release_id text not null, published_at timestamptz not null)",
    "comment on table {schema}.table_digests is 'Tables without account_id (the calendar): "
    "the digest of their rows and the release they were last written from.'",
]


class AccountsBlocked(SwitchBlocked):
    """Some accounts could not be replaced within their attempts (or the publish's deadline);
    they keep their previous release, every other account has the new one."""

    def __init__(self, message: str, accounts: list[str]):
        super().__init__(message)
        self.accounts = accounts


@dataclass(frozen=True)
class AccountRelease:
    """What an account's rows in a release are: its own release id when the manifest names
    one (a fan-in's), else a digest of its rows."""

    account_release_id: str | None
    content_digest: str | None
    sync_id: str | None

    def same_as(self, held: tuple[str | None, str | None] | None) -> bool:
        if held is None:
            return False
        if self.account_release_id is not None:
            return held[0] == self.account_release_id
        return held[1] == self.content_digest


@dataclass
class Outcome:
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    tables_replaced: list[str] = field(default_factory=list)
    rows: int = 0
    attempts: int = 0  # the most any one transaction took
    blocked: dict[str, list[str]] = field(default_factory=dict)  # account -> who held it


def release_accounts(
    reader: duckdb.DuckDBPyConnection, release: Path, manifest: dict
) -> dict[str, AccountRelease]:
    """Every account of the release (validated ids) and what its rows are."""
    sources = {s["account_id"]: s for s in manifest.get("source") or []}
    named = bool(sources) and all(s.get("account_release_id") for s in sources.values())
    found: dict[str, str | None] = {}
    if not named:
        per_account = {n: s for n, s in manifest["tables"].items() if has_accounts(s)}
        found = dict(digests(reader, release, per_account, by_account=True))
    accounts = {}
    for account_id in sorted({*sources, *found}):
        source = sources.get(account_id, {})
        accounts[safety.account_id(account_id)] = AccountRelease(
            source.get("account_release_id") if named else None,
            None if named else found.get(account_id, ""),
            source.get("sync_id"),
        )
    return accounts


def shared_digests(
    reader: duckdb.DuckDBPyConnection, release: Path, manifest: dict
) -> dict[str, str]:
    """The digest of every table without account_id (empty tables included)."""
    shared = {n: s for n, s in manifest["tables"].items() if not has_accounts(s)}
    found = digests(reader, release, shared, by_account=False)
    return {name: found.get(name, "") for name in shared}


def create_state(connection: sa.Connection, schema: str) -> None:
    for statement in STATE_DDL:
        connection.execute(sa.text(statement.format(schema=schema)))


def record_accounts(
    connection: sa.Connection,
    schema: str,
    accounts: dict[str, AccountRelease],
    manifest: dict,
) -> None:
    for account_id, account in accounts.items():
        _record_account(connection, schema, account_id, account, manifest)


def record_tables(
    connection: sa.Connection, schema: str, found: dict[str, str], release_id: str
) -> None:
    for name, digest in found.items():
        connection.execute(
            sa.text(
                f"insert into {schema}.{TABLE_DIGESTS} values (:name, :digest, :release, now()) "
                "on conflict (table_name) do update set content_digest = excluded.content_digest, "
                "release_id = excluded.release_id, published_at = excluded.published_at"
            ),
            {"name": name, "digest": digest, "release": release_id},
        )


def replace_changed(
    engine: sa.Engine,
    schema: str,
    release: Path,
    manifest: dict,
    accounts: dict[str, AccountRelease],
    shared: dict[str, str],
    policy: SwitchPolicy,
    deadline: float,
) -> Outcome:
    """Bring the tables of `schema` (the current release schema) to the release: changed
    tables without accounts first (so the calendar is there before the rows that use it),
    then each changed or new account, then removed accounts, each in its own transaction;
    then the release row, if nothing was blocked."""
    with engine.connect() as connection:
        held = {
            a: (r, d)
            for a, r, d in connection.execute(
                sa.text(
                    f"select account_id, account_release_id, content_digest "
                    f"from {schema}.{ACCOUNT_RELEASES}"
                )
            ).all()
        }
        held_tables = dict(
            connection.execute(
                sa.text(f"select table_name, content_digest from {schema}.{TABLE_DIGESTS}")
            ).all()
        )
    changed = [a for a, account in accounts.items() if not account.same_as(held.get(a))]
    removed = sorted(safety.account_id(a) for a in held if a not in accounts)
    per_account = {n: s for n, s in manifest["tables"].items() if has_accounts(s)}
    replace = _Replace(engine, schema, manifest, policy, deadline)
    replace.outcome.unchanged = len(accounts) - len(changed)
    reader = duckdb.connect()
    try:
        for name, digest in shared.items():
            if held_tables.get(name) != digest:
                batches = table_batches(reader, release, manifest["tables"][name])
                replace.shared_table(name, digest, batches)
        for start in range(0, len(changed), ACCOUNTS_PER_READ):
            batch = changed[start : start + ACCOUNTS_PER_READ]
            read = {n: rows_by_account(reader, release, s, batch) for n, s in per_account.items()}
            for account_id in batch:
                rows = {n: read[n].get(account_id) for n in per_account}
                replace.account(account_id, per_account, rows, accounts[account_id])
    finally:
        reader.close()
    for account_id in removed:
        replace.account(account_id, per_account, {}, None)
    outcome = replace.outcome
    if not outcome.blocked:
        replace.release_row()
    if outcome.blocked:
        blocked = [a for a in outcome.blocked if a in accounts or a in removed]
        raise AccountsBlocked(_blocked_message(schema, manifest, outcome), sorted(blocked))
    return outcome


class _Replace:
    """The transactions of one per-account publish, each retried when it could not get a
    lock in time, with what they did in `outcome`."""

    def __init__(
        self,
        engine: sa.Engine,
        schema: str,
        manifest: dict,
        policy: SwitchPolicy,
        deadline: float,
    ):
        self.engine, self.schema, self.manifest = engine, schema, manifest
        self.policy, self.deadline = policy, deadline
        self.outcome = Outcome()

    def shared_table(self, name: str, digest: str, batches) -> None:
        """A table without account_id, replaced whole."""

        def work(connection: sa.Connection) -> int:
            connection.execute(sa.text(f"delete from {self.schema}.{name}"))
            driver = connection.connection.driver_connection
            spec = self.manifest["tables"][name]
            rows = copy_rows(driver, f"{self.schema}.{name}", column_names(spec), batches)
            record_tables(connection, self.schema, {name: digest}, self.manifest["release_id"])
            return rows

        rows = self._retrying(work, name)
        if rows is not None:
            self.outcome.tables_replaced.append(name)
            self.outcome.rows += rows

    def account(
        self,
        account_id: str,
        tables: dict[str, dict],
        rows: dict,
        account: AccountRelease | None,
    ) -> None:
        """One account's rows in every table, replaced in one transaction (deleted, with no
        `account`)."""

        def work(connection: sa.Connection) -> int:
            driver = connection.connection.driver_connection
            written = 0
            for name, spec in tables.items():
                connection.execute(
                    sa.text(f"delete from {self.schema}.{name} where account_id = :account"),
                    {"account": account_id},
                )
                if rows.get(name) is not None:
                    relation = f"{self.schema}.{name}"
                    written += copy_rows(driver, relation, column_names(spec), [rows[name]])
            connection.execute(
                sa.text(
                    f"delete from {self.schema}.{ACCOUNT_RELEASES} where account_id = :account"
                ),
                {"account": account_id},
            )
            if account is not None:
                _record_account(connection, self.schema, account_id, account, self.manifest)
            return written

        written = self._retrying(work, account_id)
        if written is None:
            return
        if account is None:
            self.outcome.removed.append(account_id)
        else:
            self.outcome.replaced.append(account_id)
        self.outcome.rows += written

    def release_row(self) -> None:
        def work(connection: sa.Connection) -> int:
            connection.execute(
                sa.text(
                    f"update {self.schema}.release set release_id = :release_id, "
                    "generated_at = cast(:generated_at as timestamptz), "
                    "schema_version = :version"
                ),
                {
                    "release_id": self.manifest["release_id"],
                    "generated_at": self.manifest["generated_at"],
                    "version": self.manifest["schema_version"],
                },
            )
            return 0

        self._retrying(work, "release")

    def _retrying(self, work: Callable[[sa.Connection], int], what: str) -> int | None:
        """`work` in one transaction under lock_timeout, retried with backoff when it could
        not get a lock in time; None (and `what` noted as blocked) after the attempts, or at
        once when something was blocked already and the publish's deadline has passed."""
        outcome, policy = self.outcome, self.policy
        if outcome.blocked and time.monotonic() > self.deadline:
            outcome.blocked[what] = ["(not tried: the publish's deadline had passed)"]
            return None
        delay = policy.backoff_seconds
        holders: list[str] = []
        for attempt in range(1, policy.attempts + 1):
            try:
                with self.engine.begin() as connection:
                    set_lock_timeout(connection, policy)
                    result = work(connection)
                outcome.attempts = max(outcome.attempts, attempt)
                return result
            except sa.exc.DBAPIError as error:
                if sqlstate(error) not in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED):
                    raise
                holders = _blockers(self.engine, self.schema)
            if attempt == policy.attempts or time.monotonic() + delay > self.deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, policy.backoff_max_seconds)
        outcome.blocked[what] = holders
        return None


def _record_account(
    connection: sa.Connection,
    schema: str,
    account_id: str,
    account: AccountRelease,
    manifest: dict,
) -> None:
    connection.execute(
        sa.text(
            f"insert into {schema}.{ACCOUNT_RELEASES} values (:account, :account_release, "
            ":digest, :sync, :release, :snapshot, now())"
        ),
        {
            "account": account_id,
            "account_release": account.account_release_id,
            "digest": account.content_digest,
            "sync": account.sync_id,
            "release": manifest["release_id"],
            "snapshot": manifest.get("lake_snapshot"),
        },
    )


def _blockers(engine: sa.Engine, schema: str) -> list[str]:
    """Sessions holding a lock on the schema's tables that a replace can wait for: anything
    stronger than a plain read's AccessShareLock (row locks show as RowShareLock)."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "select distinct a.pid, a.usename, a.application_name, a.state, a.xact_start, "
                "l.mode, c.relname from pg_locks as l join pg_class as c on c.oid = l.relation "
                "join pg_namespace as n on n.oid = c.relnamespace "
                "join pg_stat_activity as a on a.pid = l.pid "
                "where n.nspname = :schema and l.granted and l.mode <> 'AccessShareLock' "
                "and a.pid <> pg_backend_pid() order by a.pid, c.relname"
            ),
            {"schema": schema},
        ).all()
    return [
        describe_session(pid, user, app, state, since, f"holds {mode} on {table}")
        for pid, user, app, state, since, mode, table in rows
    ]


def _blocked_message(schema: str, manifest: dict, outcome: Outcome) -> str:
    holders = sorted({h for found in outcome.blocked.values() for h in found})
    names = sorted(outcome.blocked)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"PostgreSQL: {len(names)} of the changes to {schema} for release "
        f"{manifest['release_id']} gave way to other sessions and keep their previous release "
        f"({shown}); {len(outcome.replaced)} accounts were replaced. Held by: "
        f"{'; '.join(holders) or 'sessions that have since finished'}"
    )
