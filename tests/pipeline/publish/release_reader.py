"""A BI reader in its own process, for the atomic-swap tests: reads an exports folder in a loop
until STOP_FILE appears, then writes what it saw to OUTPUT (JSON).

python -m tests.pipeline.publish.release_reader EXPORTS READY_FILE STOP_FILE OUTPUT

Each round opens exports/analytics.duckdb read-only (meta.release and a few row counts, then
closes it), and resolves exports/current once to read its manifest and a few tables' Parquet.
Only duckdb and the standard library: the reader knows nothing of the pipeline.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import duckdb

TABLES = ("dim_projects", "fct_task_flow", "fct_burndown_daily")
MAX_SECONDS = 120  # a stuck test never leaves this process behind for long


def read_serving(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        (release_id,) = con.execute("select release_id from meta.release").fetchone()
        counts = {t: con.execute(f"select count(*) from bi.{t}").fetchone()[0] for t in TABLES}
    finally:
        con.close()
    return {"release_id": release_id, "counts": counts}


def read_current(root: Path) -> dict:
    release = Path(os.path.realpath(root / "current"))  # resolved once, then only this folder
    manifest = json.loads((release / "manifest.json").read_text())
    counts = {}
    con = duckdb.connect()
    try:
        for table in TABLES:
            spec = manifest["tables"][table]
            literal = str(release / spec["path"]).replace("'", "''")
            hive = ", hive_partitioning = true" if spec["partitioned_by"] else ""
            counts[table] = con.execute(
                f"select count(*) from read_parquet('{literal}'{hive})"
            ).fetchone()[0]
    finally:
        con.close()
    return {
        "release_id": manifest["release_id"],
        "folder": release.name,
        "manifest_counts": {t: manifest["tables"][t]["rows"] for t in TABLES},
        "counts": counts,
    }


def main(root: Path, ready: Path, stop: Path, output: Path) -> None:
    seen: dict[str, list] = {"serving": [], "current": [], "errors": []}
    deadline = time.monotonic() + MAX_SECONDS
    while not stop.exists() and time.monotonic() < deadline:
        for kind, read in (("serving", read_serving), ("current", read_current)):
            try:
                seen[kind].append(read(root / "analytics.duckdb" if kind == "serving" else root))
            except Exception as exc:  # every failure is a finding: record it, keep reading
                seen["errors"].append(f"{kind}: {type(exc).__name__}: {exc}")
        if not ready.exists():
            ready.touch()
    output.write_text(json.dumps(seen))


if __name__ == "__main__":
    main(*(Path(argument) for argument in sys.argv[1:5]))
