"""Readers in another process never see half a release: while five publishes run (each with
different row counts), every read of analytics.duckdb and of exports/current matches exactly one
release's manifest."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from pipeline import warehouse
from pipeline.paths import PROJECT_ROOT
from tests.pipeline.publish.publish_helpers import publish_files
from tests.pipeline.publish.release_reader import TABLES

PUBLISHES = 5


def _wait_for(path, process, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, f"the reader never got going ({path})"
        time.sleep(0.05)


def test_readers_see_one_release_whole_across_five_publishes(pipeline_db, tmp_path):
    root = tmp_path / "exports"
    ready, stop, output = tmp_path / "ready", tmp_path / "stop", tmp_path / "seen.json"
    con = warehouse.connect(pipeline_db)
    manifests = {}
    reader = None
    try:
        first = publish_files(con, root)
        manifests[first["release_id"]] = first
        reader = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.pipeline.publish.release_reader",
                *(str(p) for p in (root, ready, stop, output)),
            ],
            cwd=PROJECT_ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for(ready, reader, 60)
        for publish in range(PUBLISHES):
            # A different number of rows gone from each table makes every release distinct.
            for offset, table in enumerate(TABLES, start=1):
                con.execute(
                    f"delete from marts.{table} where rowid in "
                    f"(select rowid from marts.{table} order by rowid limit ?)",
                    [publish + offset],
                )
            manifest = publish_files(con, root)
            manifests[manifest["release_id"]] = manifest
            time.sleep(0.4)  # let the reader take a few reads of each release
        stop.touch()
        assert reader.wait(timeout=60) == 0, reader.stderr.read()
    finally:
        con.close()
        stop.touch()
        if reader is not None and reader.poll() is None:
            reader.kill()
            reader.wait()

    expected = {
        release_id: {t: m["tables"][t]["rows"] for t in TABLES}
        for release_id, m in manifests.items()
    }
    assert len({tuple(counts.values()) for counts in expected.values()}) == PUBLISHES + 1
    seen = json.loads(output.read_text())
    assert seen["errors"] == []
    for read in seen["serving"]:
        assert read["counts"] == expected[read["release_id"]], read
    for read in seen["current"]:
        assert read["folder"] == read["release_id"]
        assert read["counts"] == read["manifest_counts"] == expected[read["release_id"]], read
    assert len({read["release_id"] for read in seen["serving"]}) >= 2
    assert len({read["release_id"] for read in seen["current"]}) >= 2
    # Older releases are pruned; the newest is what both entry points show now.
    last = list(manifests)[-1]
    assert (root / "current").resolve().name == last
    assert len(list((root / "releases").iterdir())) == 3
