"""Which DuckDB versions open a serving file written with each storage_version.

python scripts/serving_compat.py [SERVING_FILE] [--versions 1.1.3,1.2.2,...]

Installs each DuckDB version from PyPI into its own folder under /tmp (pip --target; nothing
in the project's environment changes), writes a small file with the pipeline's duckdb in each
storage format of STORAGE_VERSIONS, and opens every file (and the serving file given, default
exports/analytics.duckdb) read-only in every version, querying a bi view and a column comment.
Prints one table: the figures in docs/bi.md come from it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb

VERSIONS = ("1.1.3", "1.2.2", "1.3.2", "1.4.4", "1.5.6")
STORAGE_VERSIONS = (None, "v1.5.0", "v1.4.0", "v1.1.0")

PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import duckdb
for path in sys.argv[2:]:
    try:
        con = duckdb.connect(path, read_only=True)
        view = con.execute(
            "select schema_name || '.' || view_name from duckdb_views() "
            "where schema_name = 'bi' order by 1 limit 1"
        ).fetchone()[0]
        con.execute(f"select count(*) from {view}").fetchall()
        con.execute("select comment from duckdb_views() where schema_name = 'bi'").fetchall()
        con.close()
        print("yes")
    except Exception as error:
        print("no: " + str(error).splitlines()[0][:80])
"""


def sample_file(folder: Path, storage: str | None) -> Path:
    path = folder / f"sample_{storage or 'default'}.duckdb"
    path.unlink(missing_ok=True)
    con = duckdb.connect()
    option = f" (storage_version '{storage}')" if storage else ""
    con.execute(f"attach '{path}' as f{option}")
    con.execute("create schema f.bi")
    con.execute(
        "create table f.bi.t as select range as i, current_date + cast(range as integer) as d, "
        "1.5 * range as x, [range] as l from range(1000)"
    )
    con.execute("create view f.bi.v as select * from f.bi.t")
    con.execute("comment on view f.bi.v is 'a view'")
    con.execute("detach f")
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("serving", nargs="?", default="exports/analytics.duckdb")
    parser.add_argument("--versions", default=",".join(VERSIONS))
    arguments = parser.parse_args()
    work = Path(tempfile.gettempdir()) / "buildos-serving-compat"
    work.mkdir(exist_ok=True)
    files = {f"storage {s or 'default'}": sample_file(work, s) for s in STORAGE_VERSIONS}
    if Path(arguments.serving).exists():
        files[f"serving file {arguments.serving}"] = Path(arguments.serving).resolve()
    versions = arguments.versions.split(",")
    results = {}
    for version in versions:
        target = work / f"duckdb-{version}"
        if not target.exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--target",
                    str(target),
                    f"duckdb=={version}",
                ],
                check=True,
            )
        done = subprocess.run(
            [sys.executable, "-I", "-c", PROBE, str(target), *map(str, files.values())],
            capture_output=True,
            text=True,
            check=True,
        )
        results[version] = done.stdout.splitlines()
    print(f"written by duckdb {duckdb.__version__}")
    print("| file | " + " | ".join(versions) + " |")
    print("|---" * (len(versions) + 1) + "|")
    for index, name in enumerate(files):
        cells = [results[v][index].split(":")[0] for v in versions]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
