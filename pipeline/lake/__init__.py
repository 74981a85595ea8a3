"""The shared lake BI tools read: every account's marts (and the `bi` views over them) in
DuckLake, its catalog in PostgreSQL (or an embedded SQLite file), its data files on S3 (or a
local folder). One fan-in writer commits; readers attach it read-only, pinned if they like."""

from pipeline.lake.commit import AccountRelease, commit_accounts, commit_with
from pipeline.lake.connect import attach, connect
from pipeline.lake.settings import LakeSettings
from pipeline.lake.snapshots import AccountHeld, Snapshot, current_snapshot, read_snapshot
from pipeline.lake.views import write_bi_views

__all__ = [
    "AccountHeld",
    "AccountRelease",
    "LakeSettings",
    "Snapshot",
    "attach",
    "commit_accounts",
    "commit_with",
    "connect",
    "current_snapshot",
    "read_snapshot",
    "write_bi_views",
]
