"""The fan-in's lake commit: every registered account whose current release the lake does not
hold yet, and the removal of accounts no longer registered, in one DuckLake commit; then the
lake's bi views. The shared DuckDB file is loaded from the same releases afterwards and names
the snapshot, so every output of a publish names one lake snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline import handoff, lake, safety


@dataclass(frozen=True)
class LakeCommit:
    snapshot: lake.Snapshot
    committed: list[str]  # accounts whose newer release the commit holds
    removed: list[str]


def commit_releases(
    settings: lake.LakeSettings, root: Path, account_ids: Sequence[str]
) -> LakeCommit:
    con = lake.connect(settings, read_only=False)  # the fan-in is the writer: it may create it
    try:
        held = lake.read_snapshot(con).accounts
    finally:
        con.close()
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
    snapshot = lake.commit_accounts(settings, releases, removed)
    if releases or removed:
        con = lake.connect(settings, read_only=False)
        try:
            lake.write_bi_views(con)
        finally:
            con.close()
        snapshot = lake.current_snapshot(settings)
    return LakeCommit(snapshot, sorted(releases), removed)
