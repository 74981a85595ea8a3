"""The switch of a PostgreSQL publish: repoint the stable views at a built release schema in
one short transaction that gives way to readers, and drop release schemas past their grace
period; and the lock that keeps two publishes of one schema apart. See
pipeline/publish/postgres.py for the layout.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import sqlalchemy as sa

from pipeline.publish.contract import (
    ACCOUNTS,
    comment_statements,
    is_labelled,
    public_tables,
    quote_literal,
    view_sql,
)

# SQLSTATEs the switch retries on: it could not get its locks in time, or lost a deadlock.
LOCK_NOT_AVAILABLE = "55P03"
DEADLOCK_DETECTED = "40P01"
INVALID_VIEW_CHANGE = "42P16"  # create or replace view cannot drop or retype a column


@dataclass(frozen=True)
class SwitchPolicy:
    """How long a switch, or one account's replace, may wait for readers: `lock_timeout_ms`
    per attempt (keep it under the server's deadlock_timeout, 1 s by default, so the
    publisher, never a reader, is the one that gives way), `attempts` tries, backoff doubling
    from `backoff_seconds`. `deadline_seconds` bounds a whole publish's waits: for another
    publish of the same schema, and for accounts once one of them was blocked."""

    lock_timeout_ms: int = 500
    attempts: int = 8
    backoff_seconds: float = 0.25
    backoff_max_seconds: float = 2.0
    grace_seconds: float = 600.0
    deadline_seconds: float = 300.0


class SwitchBlocked(RuntimeError):
    """The switch could not get its locks within its attempts; the previous release stays."""


class _OldSnapshots(Exception):
    """Raised inside the switch transaction to roll it back and try again later."""


def sqlstate(error: sa.exc.DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def switch(
    engine: sa.Engine,
    schema: str,
    target: str,
    manifest: dict,
    build_xid: str | None,
    policy: SwitchPolicy,
) -> int:
    """Repoint the stable views at `target` in one short transaction; returns the attempts it
    took. Raises SwitchBlocked, naming who held the views, when every attempt gave way.
    Without `build_xid` (a first publish: no release a reader could be on) old snapshots are
    not waited for."""
    holders: list[str] = []
    delay = policy.backoff_seconds
    for attempt in range(1, policy.attempts + 1):
        try:
            with engine.begin() as connection:
                set_lock_timeout(connection, policy)
                connection.execute(sa.text(f"create schema if not exists {schema}"))
                _lock_stable_names(connection, schema)
                holders = _old_snapshots(connection, build_xid) if build_xid else []
                if holders:
                    raise _OldSnapshots
                _repoint(connection, schema, target, manifest)
                return attempt
        except _OldSnapshots:
            pass  # rolled back: the locks are released at once, the old views stay
        except sa.exc.DBAPIError as error:
            if sqlstate(error) not in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED):
                raise
            holders = _lock_holders(engine, schema)
        if attempt < policy.attempts:
            time.sleep(delay)
            delay = min(delay * 2, policy.backoff_max_seconds)
    raise SwitchBlocked(
        f"PostgreSQL: could not switch {schema} to release {manifest['release_id']} in "
        f"{policy.attempts} attempts of {policy.lock_timeout_ms} ms; readers kept the previous "
        f"release. Held by: {'; '.join(holders) or 'sessions that have since finished'}"
    )


def _stable_relations(connection: sa.Connection, schema: str) -> list[tuple[str, str]]:
    """(name, relkind) of what the stable schema holds."""
    return connection.execute(
        sa.text(
            "select c.relname, c.relkind from pg_class as c "
            "join pg_namespace as n on n.oid = c.relnamespace "
            "where n.nspname = :schema and c.relkind in ('r', 'v', 'm', 'p') order by 1"
        ),
        {"schema": schema},
    ).all()


def _lock_stable_names(connection: sa.Connection, schema: str) -> None:
    """Every view and table of the stable schema, locked at once (or lock_timeout)."""
    names = [f"{schema}.{name}" for name, _ in _stable_relations(connection, schema)]
    if names:
        connection.execute(sa.text(f"lock table {', '.join(names)} in access exclusive mode"))


def _old_snapshots(connection: sa.Connection, build_xid: str) -> list[str]:
    """Sessions holding a snapshot from before the build committed: a repeatable-read reader
    that reads a view only after the switch would find the new tables empty."""
    rows = connection.execute(
        sa.text(
            "select pid, usename, application_name, state, xact_start from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid() "
            "and backend_type = 'client backend' and backend_xmin is not null "
            "and age(backend_xmin) >= age(cast(:xid as xid)) order by pid"
        ),
        {"xid": build_xid},
    ).all()
    return [describe_session(*row, "holds a snapshot older than the new release") for row in rows]


def _lock_holders(engine: sa.Engine, schema: str) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "select distinct a.pid, a.usename, a.application_name, a.state, a.xact_start "
                "from pg_locks as l join pg_class as c on c.oid = l.relation "
                "join pg_namespace as n on n.oid = c.relnamespace "
                "join pg_stat_activity as a on a.pid = l.pid "
                "where n.nspname = :schema and l.granted and a.pid <> pg_backend_pid() "
                "order by a.pid"
            ),
            {"schema": schema},
        ).all()
    return [describe_session(*row, "holds a lock on the views") for row in rows]


def describe_session(pid, user, application, state, since, what: str) -> str:
    opened = f", transaction open since {since:%H:%M:%S}" if since else ""
    return f"PID {pid} ({user}, {application or 'no application name'}, {state}{opened}) {what}"


def _repoint(connection: sa.Connection, schema: str, target: str, manifest: dict) -> None:
    tables = {t.name: t for t in public_tables()}
    wanted = {f"bi_{name}" for name in manifest["tables"]} | {"release", "account_releases"}
    for name, kind in _stable_relations(connection, schema):
        # Tables from the old drop-and-rename layout, and views of marts no longer published.
        if kind != "v" or name not in wanted:
            noun = "view" if kind == "v" else "table"
            connection.execute(sa.text(f"drop {noun} {schema}.{name} cascade"))
    for name, spec in manifest["tables"].items():
        names = [c["name"] for c in spec["columns"]]
        view = f"{schema}.bi_{name}"
        accounts = f"{target}.{ACCOUNTS}" if is_labelled(tables[name], names) else None
        _replace_view(connection, view, view_sql(view, names, f"{target}.{name}", accounts))
        for statement in comment_statements(tables[name], view, names):
            literal_sql(connection, statement)
    release_view = f"{schema}.release"
    _replace_view(connection, release_view, view_sql(release_view, ["*"], f"{target}.release"))
    connection.execute(
        sa.text(
            f"comment on view {release_view} is "
            "'Which release the bi_ views show: release_id, generated_at, schema_version.'"
        )
    )
    accounts_view = f"{schema}.account_releases"
    _replace_view(
        connection, accounts_view, view_sql(accounts_view, ["*"], f"{target}.account_releases")
    )
    connection.execute(
        sa.text(
            f"comment on view {accounts_view} is 'Which release each account''s rows in the "
            "bi_ views are from (account_release_id, sync_id, release_id, lake_snapshot): join "
            "on account_id to check that views agree per account.'"
        )
    )
    stamp = {
        **schema_stamp(connection, target),
        "release_id": manifest["release_id"],
        "switched_at": datetime.now(UTC).isoformat(),
    }
    literal_sql(
        connection, f"comment on schema {target} is {quote_literal(orjson.dumps(stamp).decode())}"
    )


def _replace_view(connection: sa.Connection, view: str, create: str) -> None:
    """create or replace (grants on the view stay); drop and create when a column went away or
    changed type, which create or replace refuses."""
    connection.execute(sa.text("savepoint replace_view"))
    try:
        connection.execute(sa.text(create))
    except sa.exc.DBAPIError as error:
        if sqlstate(error) != INVALID_VIEW_CHANGE:
            raise
        connection.execute(sa.text("rollback to savepoint replace_view"))
        connection.execute(sa.text(f"drop view {view}"))
        connection.execute(sa.text(create))
    connection.execute(sa.text("release savepoint replace_view"))


def release_schemas(connection: sa.Connection, schema: str) -> list[tuple[str, dict]]:
    """(name, {release_id, switched_at}) of every release schema of `schema`, oldest first."""
    rows = connection.execute(
        sa.text(
            "select nspname, obj_description(oid, 'pg_namespace') from pg_namespace "
            "where starts_with(nspname, :prefix) order by nspname"
        ),
        {"prefix": f"{schema}__r"},
    ).all()
    return [(name, orjson.loads(comment) if comment else {}) for name, comment in rows]


def schema_stamp(connection: sa.Connection, name: str | None) -> dict:
    """The JSON comment of a release schema: release_id, switched_at, contract."""
    if name is None:
        return {}
    comment = connection.execute(
        sa.text("select obj_description(to_regnamespace(:name), 'pg_namespace')"),
        {"name": name},
    ).scalar_one_or_none()
    return orjson.loads(comment) if comment else {}


def current_release_schema(connection: sa.Connection, schema: str) -> str | None:
    """The release schema the stable views read now."""
    return connection.execute(
        sa.text(
            "select distinct n.nspname from pg_depend as d "
            "join pg_rewrite as r on r.oid = d.objid "
            "join pg_class as t on t.oid = d.refobjid "
            "join pg_namespace as n on n.oid = t.relnamespace "
            "where r.ev_class = to_regclass(:view) and t.oid <> r.ev_class"
        ),
        {"view": f"{schema}.release"},
    ).scalar_one_or_none()


def drop_expired_releases(engine: sa.Engine, schema: str, policy: SwitchPolicy) -> list[str]:
    """Drop release schemas no view reads: one never switched to at once, one replaced as soon
    as its successor has been current for `grace_seconds`. A drop that would wait on a reader
    is left for the next publish."""
    with engine.connect() as connection:
        current = current_release_schema(connection, schema)
        schemas = release_schemas(connection, schema)
    now = datetime.now(UTC)
    dropped = []
    for index, (name, stamp) in enumerate(schemas):
        if current is None or name >= current:
            continue  # the current release, or one being built or switched to now
        successors = [s for _, s in schemas[index + 1 :] if s.get("switched_at")]
        replaced_at = successors[0]["switched_at"] if successors else None
        age = (now - datetime.fromisoformat(replaced_at)).total_seconds() if replaced_at else 0
        expired = stamp.get("switched_at") is None or age >= policy.grace_seconds
        if expired and drop_schema(engine, name, policy):
            dropped.append(name)
    return dropped


def literal_sql(connection: sa.Connection, statement: str) -> None:
    """A statement with text in it (COMMENT ON takes no bound values), sent as it is: no
    driver placeholders, so a '%' or ':name' in a description stays text."""
    connection.connection.driver_connection.execute(statement)


def set_lock_timeout(connection: sa.Connection, policy: SwitchPolicy) -> None:
    connection.execute(sa.text(f"set local lock_timeout = {int(policy.lock_timeout_ms)}"))


def drop_schema(engine: sa.Engine, name: str, policy: SwitchPolicy) -> bool:
    try:
        with engine.begin() as connection:
            set_lock_timeout(connection, policy)
            connection.execute(sa.text(f"drop schema if exists {name} cascade"))
        return True
    except sa.exc.DBAPIError as error:
        if sqlstate(error) in (LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED):
            return False
        raise


@contextmanager
def publish_lock(engine: sa.Engine, schema: str, policy: SwitchPolicy) -> Iterator[None]:
    """One publish of `schema` at a time (a session advisory lock), waited for no longer than
    the policy's deadline; the error names the session holding it."""
    key = f"buildos_analytics publish {schema}"
    deadline = time.monotonic() + policy.deadline_seconds
    with engine.connect() as connection:
        while True:
            taken = connection.execute(
                sa.text("select pg_try_advisory_lock(hashtext(:key))"), {"key": key}
            ).scalar_one()
            connection.commit()
            if taken:
                break
            if time.monotonic() + policy.backoff_seconds > deadline:
                raise SwitchBlocked(
                    f"PostgreSQL: another publish of {schema} held its lock for "
                    f"{policy.deadline_seconds:.0f} s: {'; '.join(_publishers(connection, key))}"
                )
            time.sleep(policy.backoff_seconds)
        try:
            yield
        finally:
            connection.execute(sa.text("select pg_advisory_unlock(hashtext(:key))"), {"key": key})
            connection.commit()


def _publishers(connection: sa.Connection, key: str) -> list[str]:
    rows = connection.execute(
        sa.text(
            "select a.pid, a.usename, a.application_name, a.state, a.xact_start "
            "from pg_locks as l join pg_stat_activity as a on a.pid = l.pid "
            "where l.locktype = 'advisory' and l.granted and l.objid = "
            "cast(cast(hashtext(:key) as bigint) & 4294967295 as oid) order by a.pid"
        ),
        {"key": key},
    ).all()
    connection.commit()
    return [describe_session(*row, "is publishing") for row in rows] or ["it has since ended"]
