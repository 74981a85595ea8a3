"""The DuckDB extensions the lake needs, loaded from their PyPI packages (duckdb-extension-*):
DuckDB cannot download extensions here, and each package holds the build for one DuckDB."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

import duckdb


class MissingExtension(RuntimeError):
    """An extension whose package is absent or built for another DuckDB."""


def extension_file(name: str) -> Path:
    """The packaged `<name>.duckdb_extension` built for the running DuckDB."""
    package = "duckdb_extension_" + name
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise MissingExtension(
            f"DuckDB extension {name!r} is not installed: pip install "
            f"{package.replace('_', '-')}=={duckdb.__version__}"
        )
    path = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}"
    path = path / f"{name}.duckdb_extension"
    if not path.exists():
        built = sorted(p.name for p in (Path(spec.origin).parent / "extensions").iterdir())
        raise MissingExtension(
            f"{package} holds {', '.join(built)}, not a build for duckdb {duckdb.__version__}"
        )
    return path


def load_extensions(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """LOAD each extension into con, from its package's file (a no-op if already loaded)."""
    loaded = {
        row[0]
        for row in con.execute(
            "select extension_name from duckdb_extensions() where loaded"
        ).fetchall()
    }
    for name in names:
        if name not in loaded:
            con.execute("load '" + str(extension_file(name)).replace("'", "''") + "'")
