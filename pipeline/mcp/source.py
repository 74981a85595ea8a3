"""What the status answers read: a DuckDB file with the marts (the serving file, or the
pipeline's own file for the CLI), opened read-only per question, and the accounts it may show.

Opening per question is what makes a publish visible without a restart: publish replaces the
serving file with one rename, so each open sees a whole release, the previous one or the next.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

from pipeline import warehouse
from pipeline.publish.contract import public_tables

# The account label issue 14 adds to dim_accounts; the account id stands in until it exists.
LABEL_COLUMNS = ("account_label", "label")


class AnswerError(Exception):
    """A question that has no answer, said in words for the asker (never SQL or a trace)."""


class NotFound(AnswerError):
    pass


class Ambiguous(AnswerError):
    def __init__(self, message: str, candidates: list[dict]):
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class Source:
    """A marts file and what may be shown from it: `accounts` binds the answers to those
    accounts (None: every account in the file); free text (activity-log lines, next steps)
    only with `include_free_text`, the rule the exports follow."""

    path: Path
    accounts: tuple[str, ...] | None = None
    include_free_text: bool = False

    @contextmanager
    def open(self) -> Iterator[Reader]:
        if not self.path.exists():
            raise AnswerError(
                f"no published data at {self.path}: run `python -m pipeline publish` first"
            )
        try:
            con = warehouse.connect(self.path, read_only=True)
        except duckdb.Error as exc:
            raise AnswerError(f"{self.path} could not be opened read-only: {exc}") from exc
        try:
            yield Reader(con, self)
        except duckdb.CatalogException as exc:
            raise AnswerError(f"{self.path} has no marts to read: build and publish first") from exc
        finally:
            con.close()


class Reader:
    """One open connection and the accounts it is bound to."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source: Source):
        self.con = con
        self.source = source
        self._accounts: dict[str, dict] | None = None

    def rows(self, sql: str, params: list | None = None) -> list[dict]:
        cursor = self.con.execute(sql, params or [])
        names = [column[0] for column in cursor.description]
        return [{n: plain(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

    @property
    def accounts(self) -> dict[str, dict]:
        """account_id -> {account_id, account_label, as_of_at, as_of_date}, bound ones only."""
        if self._accounts is None:
            columns = [row[0] for row in self.con.execute("describe marts.dim_accounts").fetchall()]
            label = next((c for c in LABEL_COLUMNS if c in columns), "account_id")
            rows = self.rows(
                f"select account_id, {label} as account_label, as_of_at, as_of_date "
                "from marts.dim_accounts order by account_id"
            )
            bound = self.source.accounts
            self._accounts = {
                r["account_id"]: r for r in rows if bound is None or r["account_id"] in bound
            }
        return self._accounts

    @property
    def account_ids(self) -> list[str]:
        return list(self.accounts)

    def account(self, account: str | None) -> list[str]:
        """The bound accounts an optional `account` argument (id or label) selects."""
        if account is None:
            return self.account_ids
        wanted = account.strip().lower()
        chosen = [
            a
            for a, row in self.accounts.items()
            if wanted in (a.lower(), str(row["account_label"]).lower())
        ]
        if not chosen:
            raise NotFound(f"no account {account!r} is served here")
        return chosen

    def as_of(self, account_ids) -> list[dict]:
        """The as-of of each account an answer covers, with its label."""
        return [self.accounts[a] for a in sorted(set(account_ids)) if a in self.accounts]

    def release(self) -> dict | None:
        """The publish the file holds (the serving file has meta.release; the work file not)."""
        try:
            found = self.rows("select release_id, generated_at as published_at from meta.release")
        except duckdb.CatalogException:
            return None
        return found[0] if found else None

    def shown_columns(self, table: str) -> list[str]:
        """The mart's columns present in this file, free text left out unless opted in."""
        available = [row[0] for row in self.con.execute(f"describe marts.{table}").fetchall()]
        spec = next(t for t in public_tables() if t.name == table)
        return spec.columns(available, self.source.include_free_text)


def plain(value):
    """A value as JSON carries it: ISO dates and times, floats for decimals."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
