"""A reader in another process, looping over the lake while 20 fan-in commits run, sees no
error and never a torn snapshot: within one read, every account's fct_items and fct_totals
name the same release, and so does meta.account_releases."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from pipeline.lake import commit_accounts
from tests.pipeline.lake.lake_helpers import new_account, release

READER = """
import json, sys, pathlib
from pipeline.lake import LakeSettings, connect
settings = LakeSettings(**json.loads(sys.argv[1]))
stop, out = pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
reads = errors = torn = 0
first_error = None
con = connect(settings)
out.with_suffix(".ready").touch()
while not stop.exists():
    try:
        con.execute("begin")
        seen = con.execute(
            "select r.account_id, r.release_id, i.releases, t.releases from "
            "lake.meta.account_releases as r "
            "left join (select account_id, list(distinct release) as releases "
            "from lake.marts.fct_items group by all) as i using (account_id) "
            "left join (select account_id, list(distinct release) as releases "
            "from lake.marts.fct_totals group by all) as t using (account_id)"
        ).fetchall()
        con.execute("commit")
        reads += 1
        torn += any(
            items != totals or items != [int(held[1:])] for _, held, items, totals in seen
        )
    except Exception as error:
        errors += 1
        first_error = first_error or repr(error)
        try:
            con.execute("rollback")
        except Exception:
            pass
out.write_text(json.dumps({"reads": reads, "errors": errors, "torn": torn, "first": first_error}))
"""


def test_a_reader_during_twenty_commits_sees_no_error_and_no_torn_snapshot(lake, tmp_path):
    accounts = [new_account() for _ in range(4)]
    commit_accounts(lake, {a: release(tmp_path, a, 0) for a in accounts})
    stop, out = tmp_path / "stop", tmp_path / "reader.json"
    fields = {
        name: getattr(lake, name)
        for name in ("catalog", "data_path", "s3_endpoint", "s3_region", "s3_key_id", "s3_secret")
    }
    reader = subprocess.Popen([sys.executable, "-c", READER, json.dumps(fields), stop, out])
    try:
        deadline = time.monotonic() + 60
        while not out.with_suffix(".ready").exists():
            assert reader.poll() is None, "the reader died before its first read"
            assert time.monotonic() < deadline, "the reader did not attach within 60 s"
            time.sleep(0.1)
        for number in range(1, 21):
            # each commit releases half the accounts, so every read mixes old and new
            chosen = accounts[number % 2 :: 2]
            commit_accounts(lake, {a: release(tmp_path, a, number) for a in chosen})
    finally:
        stop.touch()
        reader.wait(timeout=60)
    result = json.loads(out.read_text())
    assert result["reads"] > 0
    assert (result["errors"], result["torn"]) == (0, 0), result["first"]
