"""Run one throttled sync in its own process, for the tests that kill a sync mid-run.

python -m tests.pipeline.buildos.sync_worker BASE_URL DB_PATH REQUESTS_PER_SECOND

Prints "syncing" when the sync starts, "progress DONE TOTAL" as projects complete and "done"
at the end. Every project lands in its own transaction (flush_rows=1), so a kill finds work
half-landed.
"""

from __future__ import annotations

import asyncio
import sys

from pipeline import warehouse
from pipeline.buildos.sync import SyncOptions, sync_account
from tests.pipeline.buildos.sync_helpers import settings


def main(base_url: str, db: str, requests_per_second: float) -> None:
    con = warehouse.connect(db)
    client = settings(base_url, requests_per_second=requests_per_second, burst=1)
    print("syncing", flush=True)
    asyncio.run(
        sync_account(
            client,
            con,
            SyncOptions(flush_rows=1),
            lambda phase, done, total: print(f"progress {done} {total}", flush=True),
        )
    )
    con.close()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
