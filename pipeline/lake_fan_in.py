"""The fan-in: every registered account whose current release the lake does not hold yet, and
the removal of accounts no longer registered, in one DuckLake commit with the lake's bi views;
then the shared DuckDB file from the same releases, naming that snapshot, so every output of a
publish names one lake snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline import handoff, lake, safety, shared


@dataclass(frozen=True)
class LakeCommit:
    snapshot: lake.Snapshot
    committed: list[str]  # accounts whose newer release the commit holds
    removed: list[str]


def commit_releases(
    settings: lake.LakeSettings, root: Path, account_ids: Sequence[str]
) -> LakeCommit:
    """The lake commit, on one connection: what the lake holds, the releases newer than that,
    one commit (tables and bi views), the snapshot it made."""
    con = lake.connect(settings, read_only=False)  # the fan-in is the writer: it may create it
    try:
        held = lake.read_snapshot(con).accounts
        releases = {}
        for account_id in account_ids:
            folder = safety.account_root(root, account_id)
            manifest = handoff.current(folder)
            if manifest is None or (
                account_id in held and held[account_id].release_id == manifest["release_id"]
            ):
                continue
            releases[account_id] = lake.AccountRelease(
                account_id,
                {name: handoff.table_path(folder, manifest, name) for name in manifest["tables"]},
                sync_ids=tuple(s for s in [manifest["sync_id"]] if s),
                release_id=manifest["release_id"],
            )
        removed = sorted(a for a in held if a not in set(account_ids))
        snapshot = lake.commit_with(con, releases, removed, bi_views=True)
    finally:
        con.close()
    return LakeCommit(snapshot, sorted(releases), removed)


def fan_in(
    settings: lake.LakeSettings,
    root: Path,
    con: duckdb.DuckDBPyConnection,
    account_ids: Sequence[str],
) -> tuple[LakeCommit, shared.FanIn]:
    """What the fan-in step does: the lake first (one commit), then the shared file on `con`
    from the same releases, noting the lake snapshot."""
    committed = commit_releases(settings, root, account_ids)
    snapshot = committed.snapshot
    loaded = shared.fan_in(con, root, account_ids, (snapshot.snapshot_id, snapshot.committed_at))
    return committed, loaded
