"""Accounts as Dagster partitions: one dynamic partition per BuildOS account (key: its UUID),
runs that each take a batch of them, and the hour of the day each account is reconciled in
full, so the daily reconciliation is spread over the day rather than fired all at once."""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Sequence

import dagster as dg

from pipeline import safety

ACCOUNTS = dg.DynamicPartitionsDefinition(name="accounts")
# BackfillPolicy is what batches accounts into runs; Dagster marks the parameter beta, and
# would say so on every command.
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
# Accounts per run (BUILDOS_ACCOUNTS_PER_RUN): Dagster's per-run overhead is paid once a batch.
DEFAULT_ACCOUNTS_PER_RUN = 25


def accounts_per_run() -> int:
    value = os.environ.get("BUILDOS_ACCOUNTS_PER_RUN", str(DEFAULT_ACCOUNTS_PER_RUN))
    try:
        number = int(value)
    except ValueError:
        raise ValueError(
            f"BUILDOS_ACCOUNTS_PER_RUN must be a whole number, not {value!r}"
        ) from None
    if number < 1:
        raise ValueError(f"BUILDOS_ACCOUNTS_PER_RUN must be at least 1, not {number}")
    return number


def backfill_policy() -> dg.BackfillPolicy:
    return dg.BackfillPolicy.multi_run(accounts_per_run())


def run_account_ids(context) -> list[str]:
    """The accounts a step of a partitioned run works on, each checked to be a UUID (it names
    a folder and reaches SQL)."""
    return [safety.account_id(key) for key in context.partition_keys]


def batches(keys: Sequence[str], size: int) -> list[tuple[str, str]]:
    """(first, last) of consecutive runs of at most `size` keys, in the partitions' order."""
    return [(keys[i], keys[min(i + size, len(keys)) - 1]) for i in range(0, len(keys), size)]


def range_tags(first: str, last: str) -> dict[str, str]:
    return {
        "dagster/asset_partition_range_start": first,
        "dagster/asset_partition_range_end": last,
    }


def reconcile_hour(account_id: str) -> int:
    """The UTC hour in which this account's daily full reconciliation falls: a hash of its id,
    so 10,000 accounts spread evenly over the 24 hours and each keeps its hour."""
    return int.from_bytes(hashlib.sha256(account_id.encode()).digest()[:4], "big") % 24
