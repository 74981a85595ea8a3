"""The first rows of a relation as a Markdown table for the Dagster UI, numbers rounded so a
preview reads like a report (2.33, not 2.3333333333333335)."""

from __future__ import annotations

import math
from decimal import Decimal

import duckdb

DECIMALS = 2
WIDTH = 40  # characters of a text cell


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{round(value, DECIMALS):,.{DECIMALS}f}".rstrip("0").rstrip(".")
    text = str(value).replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def preview_markdown(con: duckdb.DuckDBPyConnection, relation: str, limit: int = 5) -> str:
    cursor = con.execute(f"select * from {relation} limit {int(limit)}")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if not rows:
        return "(no rows)"
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
