"""The public contract BI tools read: one `bi` view per mart, its columns and their docs.

The same view text serves three places: the `bi` schema of the pipeline's DuckDB (over the
marts), the portable `views.sql` of an export (over its Parquet files), and the serving file
and PostgreSQL (over their copies of the marts). Only the source relation changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import yaml

from pipeline.models import Model, load_models

# Bump when a published column disappears or changes type; the manifest check demands it.
SCHEMA_VERSION = 1
# Daily facts are partitioned by month in the exports (readers prune by month).
DAY_COLUMN = "day_date"


@dataclass(frozen=True)
class PublicTable:
    model: Model

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def description(self) -> str:
        return f"{self.model.description} Grain: {self.model.grain}."

    def columns(self, available: list[str], include_free_text: bool) -> list[str]:
        """The published columns, in the mart's order, free text dropped unless asked for."""
        hidden = set() if include_free_text else set(self.model.free_text)
        return [c for c in available if c not in hidden]

    def comment(self, column: str) -> str | None:
        return self.model.columns.get(column) or None

    @property
    def partitioned(self) -> bool:
        return DAY_COLUMN in self.model.columns

    @cached_property
    def spec(self) -> dict:
        """The model's .yml: the single source of the published columns' docs and types."""
        return yaml.safe_load(self.model.path.with_suffix(".yml").read_text()) or {}

    def data_type(self, column: str) -> str | None:
        """The column's DuckDB type as the .yml declares it (`data_type`)."""
        return self.model.data_type(column)

    @cached_property
    def key(self) -> tuple[str, ...]:
        """The grain's columns, as the .yml tests them (`unique_combination`, or a `unique`
        column): the primary key of the published table."""
        spec = self.spec
        for test in spec.get("tests") or []:
            if isinstance(test, dict) and "unique_combination" in test:
                return tuple(test["unique_combination"]["columns"])
        for column in spec.get("columns") or []:
            if "unique" in (column.get("tests") or []):
                return (column["name"],)
        return ()


def public_tables() -> list[PublicTable]:
    """Every mart and dimension, in a stable order."""
    return sorted(
        (PublicTable(m) for m in load_models() if m.layer == "marts"), key=lambda t: t.name
    )


# Every bi view with an account_id also shows the account's label, from this mart.
ACCOUNTS = "dim_accounts"
ACCOUNT_LABEL = "account_label"


def is_labelled(table: PublicTable, columns: list[str]) -> bool:
    """Whether the table's bi view carries account_label (joined from dim_accounts)."""
    return table.name != ACCOUNTS and "account_id" in columns


def view_sql(view: str, columns: list[str], source: str, accounts: str | None = None) -> str:
    """`create or replace view <view> as select <columns> from <source>`; with `accounts` (the
    relation of dim_accounts beside it), account_label joined on as the last column."""
    if accounts is None:
        listed = ",\n    ".join(columns)
        return f"create or replace view {view} as\nselect\n    {listed}\nfrom {source}"
    listed = ",\n    ".join([*(f"t.{c}" for c in columns), f"a.{ACCOUNT_LABEL}"])
    return (
        f"create or replace view {view} as\nselect\n    {listed}\nfrom {source} as t\n"
        f"left join {accounts} as a on t.account_id = a.account_id"
    )


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment_statements(
    table: PublicTable, relation: str, columns: list[str], kind: str = "view"
) -> list[str]:
    """COMMENT ON statements for a view or table (DuckDB and PostgreSQL both take this form)."""
    statements = [f"comment on {kind} {relation} is {quote_literal(table.description)}"]
    described = [(column, table.comment(column)) for column in columns]
    if kind == "view" and is_labelled(table, columns):
        accounts = next(t for t in public_tables() if t.name == ACCOUNTS)
        described.append((ACCOUNT_LABEL, accounts.comment(ACCOUNT_LABEL)))
    for column, text in described:
        if text:
            statements.append(f"comment on column {relation}.{column} is {quote_literal(text)}")
    return statements
