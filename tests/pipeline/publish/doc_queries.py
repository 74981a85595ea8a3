"""The SQL examples of docs/bi.md, so tests run exactly what the guide shows.

Every ```sql block is one example. A block whose first line is `-- DuckDB only` runs against
DuckDB (the serving file and views.sql) alone; `-- PostgreSQL only` against PostgreSQL alone;
`-- Lake only` from a project folder with the lake (tests/pipeline/lake/test_bi_doc.py); the
rest run everywhere, PostgreSQL with `bi.<name>` read as `<schema>.bi_<name>` and
`meta.release` as `<schema>.release`, as the guide says.
"""

from __future__ import annotations

import re

from pipeline.paths import PROJECT_ROOT

GUIDE = PROJECT_ROOT / "docs" / "bi.md"
BLOCK = re.compile(r"^```sql\n(.*?)^```", re.DOTALL | re.MULTILINE)
ONLY = re.compile(r"^-- (DuckDB|PostgreSQL|Lake) only\b")


def examples(engine: str) -> list[str]:
    """The guide's SQL blocks that run on `engine` ("duckdb", "postgresql" or "lake"), in
    order."""
    found = []
    for block in BLOCK.findall(GUIDE.read_text()):
        only = ONLY.match(block)
        if only is None or only.group(1).lower() == engine:
            found.append(block.strip())
    return found


def for_postgres(query: str, schema: str) -> str:
    """The guide's rule for PostgreSQL names."""
    query = re.sub(r"\bbi\.(\w+)", rf"{schema}.bi_\1", query)
    return re.sub(r"\bmeta\.release\b", f"{schema}.release", query)
