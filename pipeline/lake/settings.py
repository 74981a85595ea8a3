"""Where the shared lake lives: its catalog (an embedded SQLite file by default, or PostgreSQL)
and its data files (a local folder by default, or s3://bucket/prefix/), read from the
environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

DEFAULT_DATA_ROOT = Path("data")
# SQLite, not a DuckDB file, as the embedded catalog: DuckDB locks its file for one process, so
# a BI tool attaching the lake would fail while the fan-in writes (and the other way round);
# SQLite lets readers in other processes attach during a commit.
CATALOG_FILE = "lake.sqlite"
DATA_FOLDER = "lake"
ENV = {
    "catalog": "BUILDOS_LAKE_CATALOG",
    "data_path": "BUILDOS_LAKE_DATA",
    "s3_endpoint": "BUILDOS_LAKE_S3_ENDPOINT",
    "s3_region": "BUILDOS_LAKE_S3_REGION",
    "s3_key_id": "BUILDOS_LAKE_S3_KEY_ID",
    "s3_secret": "BUILDOS_LAKE_S3_SECRET",
}


@dataclass(frozen=True)
class LakeSettings:
    """catalog: a file path (SQLite; a `.ducklake`/`.duckdb` name makes it a DuckDB file, for
    one process only) or a postgresql:// URL. data_path: a folder, or s3://bucket/prefix/.
    The S3 fields apply to s3:// data; an endpoint (http://host:port) means an S3-compatible
    server rather than AWS. The secret, and a password in the catalog URL, stay out of repr."""

    catalog: str
    data_path: str
    s3_endpoint: str | None = None
    s3_region: str = "us-east-1"
    s3_key_id: str | None = field(default=None, repr=False)
    s3_secret: str | None = field(default=None, repr=False)

    @classmethod
    def embedded(cls, data_root: Path = DEFAULT_DATA_ROOT) -> LakeSettings:
        """The default: <data_root>/lake.sqlite and <data_root>/lake/, absolute."""
        root = Path(data_root).resolve()
        return cls(catalog=str(root / CATALOG_FILE), data_path=str(root / DATA_FOLDER) + "/")

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] = os.environ, data_root: Path | None = None
    ) -> LakeSettings:
        """BUILDOS_LAKE_CATALOG, BUILDOS_LAKE_DATA, BUILDOS_LAKE_S3_ENDPOINT, _S3_REGION,
        _S3_KEY_ID and _S3_SECRET; whatever is unset comes from the embedded default under
        data_root (default: the folder of BUILDOS_ANALYTICS_DB, else data/)."""
        if data_root is None:
            db = env.get("BUILDOS_ANALYTICS_DB")
            data_root = Path(db).parent if db else DEFAULT_DATA_ROOT
        default = cls.embedded(data_root)
        given = {name: env[var] for name, var in ENV.items() if env.get(var)}
        return cls(**{**default.__dict__, **given})

    @property
    def on_postgres(self) -> bool:
        return self.catalog.startswith(("postgresql://", "postgres://"))

    @property
    def on_s3(self) -> bool:
        return self.data_path.startswith("s3://")

    def __repr__(self) -> str:
        return (
            f"LakeSettings(catalog={self.catalog_label!r}, data_path={self.data_path!r}, "
            f"s3_endpoint={self.s3_endpoint!r}, s3_region={self.s3_region!r})"
        )

    @property
    def catalog_label(self) -> str:
        """The catalog for logs and metadata: a PostgreSQL URL without its password."""
        if not self.on_postgres:
            return self.catalog
        info = psycopg.conninfo.conninfo_to_dict(self.catalog)
        info.pop("password", None)
        return "postgresql: " + " ".join(f"{k}={v}" for k, v in sorted(info.items()))

    def attach_target(self) -> str:
        """The ATTACH string: ducklake:postgres:<libpq keywords>, ducklake:sqlite:<file> or
        ducklake:<DuckDB file>."""
        if self.on_postgres:
            info = psycopg.conninfo.conninfo_to_dict(self.catalog)
            return "ducklake:postgres:" + psycopg.conninfo.make_conninfo(**info)
        path = Path(self.catalog).resolve()
        if path.suffix in (".ducklake", ".duckdb"):
            return f"ducklake:{path}"
        return f"ducklake:sqlite:{path}"

    def extensions(self) -> list[str]:
        """The DuckDB extensions attaching this lake needs, in load order."""
        catalog = "postgres_scanner" if self.on_postgres else "sqlite_scanner"
        if not self.on_postgres and Path(self.catalog).suffix in (".ducklake", ".duckdb"):
            catalog = None
        needed = [catalog] if catalog else []
        return [*needed, *(["httpfs"] if self.on_s3 else []), "ducklake"]
