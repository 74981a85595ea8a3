"""The account registry: which BuildOS accounts a deployment syncs, and their credentials.

One list, read from the first source that is set: `BUILDOS_ACCOUNTS` (JSON), the JSON file named
by `BUILDOS_ACCOUNTS_FILE`, or the PostgreSQL table `BUILDOS_ACCOUNTS_TABLE` at
`BUILDOS_REGISTRY_URL`. The table holds names of environment variables, never secrets. Every
account id is checked as a UUID before it can name a partition, a folder or a lease.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import sqlalchemy as sa

from pipeline import safety

ACCOUNTS_VAR = "BUILDOS_ACCOUNTS"
FILE_VAR = "BUILDOS_ACCOUNTS_FILE"
TABLE_VAR = "BUILDOS_ACCOUNTS_TABLE"
URL_VAR = "BUILDOS_REGISTRY_URL"
# schema.table or table, plain identifiers: the name is quoted by SQLAlchemy, and checked first
# so a typo reads as one rather than as a SQL error.
TABLE_NAME = re.compile(r"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")


class RegistryError(ValueError):
    """A registry entry that cannot be used; the message names the source, entry and field,
    never a secret's value."""


@dataclass(frozen=True)
class AccountEntry:
    """One registered account. Secrets are kept out of repr() and str()."""

    account_id: str
    email: str | None = None
    password: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)


def validate_account_id(value: object) -> str:
    """The account id if it is a canonical UUID (lower case); otherwise UnsafePathError."""
    return safety.account_id(value.lower() if isinstance(value, str) else value)


def load_registry(env: Mapping[str, str] = os.environ) -> list[AccountEntry]:
    """Every registered account, from the first source that is set; [] when none is."""
    if env.get(ACCOUNTS_VAR):
        return _entries(_json_list(env[ACCOUNTS_VAR], ACCOUNTS_VAR), ACCOUNTS_VAR, env)
    if env.get(FILE_VAR):
        path = Path(env[FILE_VAR])
        try:
            text = path.read_text()
        except OSError as exc:
            raise RegistryError(f"{FILE_VAR}: cannot read {path}: {exc.strerror}") from None
        return _entries(_json_list(text, f"{FILE_VAR} ({path})"), f"{FILE_VAR} ({path})", env)
    if env.get(TABLE_VAR):
        if not env.get(URL_VAR):
            raise RegistryError(f"{TABLE_VAR} is set but {URL_VAR} (the database) is not")
        return _entries(_table_rows(env[URL_VAR], env[TABLE_VAR]), f"{TABLE_VAR}", env)
    return []


def registry_partition_changes(
    registered: list[str], current: list[str]
) -> tuple[list[str], list[str]]:
    """(partition keys to add, partition keys to remove) so that the registered partitions
    become the accounts of the registry now; each list in its input's order."""
    have, want = set(registered), set(current)
    to_add = list(dict.fromkeys(key for key in current if key not in have))
    to_remove = list(dict.fromkeys(key for key in registered if key not in want))
    return to_add, to_remove


def _json_list(text: str, source: str) -> list:
    try:
        entries = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        # orjson's message quotes no input, only where it stopped
        raise RegistryError(f"{source} is not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise RegistryError(
            f"{source} must be a JSON list of accounts, not {type(entries).__name__}"
        )
    return entries


def _table_rows(url: str, name: str) -> list[dict]:
    match = TABLE_NAME.match(name)
    if match is None:
        raise RegistryError(f"{TABLE_VAR} {name!r} is not a table name (schema.table or table)")
    schema, table_name = match.groups()
    table = sa.table(
        table_name,
        *(sa.column(c) for c in ("account_id", "email", "password_env", "api_key_env")),
        schema=schema,
    )
    engine = sa.create_engine(url)
    try:
        with engine.connect() as con:
            rows = con.execute(sa.select(table).order_by(table.c.account_id)).mappings().all()
    except sa.exc.SQLAlchemyError as exc:
        # the driver's message, without SQLAlchemy's echo of the statement and parameters
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise RegistryError(f"{TABLE_VAR} {name}: cannot read the registry: {reason}") from None
    finally:
        engine.dispose()
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def _entries(raw: list, source: str, env: Mapping[str, str]) -> list[AccountEntry]:
    entries, seen = [], {}
    for index, item in enumerate(raw):
        where = f"{source} entry {index}"
        if not isinstance(item, dict):
            raise RegistryError(f"{where}: must be an object, not {type(item).__name__}")
        try:
            account_id = validate_account_id(item.get("account_id"))
        except safety.UnsafePathError:
            shown = item.get("account_id")
            raise RegistryError(f"{where}, field account_id: {shown!r} is not a UUID") from None
        if account_id in seen:
            raise RegistryError(
                f"{where}, field account_id: {account_id} is already entry {seen[account_id]}"
            )
        seen[account_id] = index
        email = _text(item, "email", where)
        password = _secret(item, "password", where, env)
        api_key = _secret(item, "api_key", where, env)
        if not api_key and not (email and password):
            raise RegistryError(
                f"{where} ({account_id}): no credentials: give api_key (or api_key_env), or "
                "email with password (or password_env)"
            )
        entries.append(AccountEntry(account_id, email, password, api_key))
    return entries


def _text(item: dict, name: str, where: str) -> str | None:
    value = item.get(name)
    if value is not None and not isinstance(value, str):
        raise RegistryError(f"{where}, field {name}: must be a string")
    return value or None


def _secret(item: dict, name: str, where: str, env: Mapping[str, str]) -> str | None:
    """The secret given inline, or read from the variable its `<name>_env` field names."""
    value = _text(item, name, where)
    variable = _text(item, f"{name}_env", where)
    if value and variable:
        raise RegistryError(f"{where}: give {name} or {name}_env, not both")
    if variable:
        value = env.get(variable)
        if not value:
            raise RegistryError(
                f"{where}, field {name}_env: the environment variable {variable} is not set"
            )
    return value
