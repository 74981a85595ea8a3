"""What the schedules and sensors decide: which account batches an hourly tick runs, which
partitions the account registry adds or removes, and when the shared layer is published."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import dagster as dg

from pipeline.partitions import ACCOUNTS, accounts_per_run, batches, range_tags

# The publish job's runs carry this tag; deploy/dagster.yaml lets one such run go at a time,
# since they all write the shared file.
SHARED_WRITER_TAG = "buildos/writes"
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def in_flight_accounts(instance: dg.DagsterInstance, job_names: Sequence[str]) -> set[str]:
    """The accounts of the runs of these jobs that are queued or running."""
    keys = instance.get_dynamic_partitions(ACCOUNTS.name)
    position = {key: i for i, key in enumerate(keys)}
    busy: set[str] = set()
    for job_name in job_names:
        for run in instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=IN_FLIGHT)):
            tags = run.tags
            if "dagster/partition" in tags:
                busy.add(tags["dagster/partition"])
            elif RANGE_START in tags and RANGE_END in tags:
                first, last = position.get(tags[RANGE_START]), position.get(tags[RANGE_END])
                if first is not None and last is not None:
                    busy.update(keys[first : last + 1])
    return busy


def account_batches(
    context: dg.ScheduleEvaluationContext, at: datetime, job_names: Sequence[str] = ()
):
    """One run request per batch of accounts; a batch with an account that an earlier run
    still holds is left to the next tick, so no account is ever run twice at once."""
    keys = context.instance.get_dynamic_partitions(ACCOUNTS.name)
    if not keys:
        return dg.SkipReason("no account partitions yet (the account_registry sensor adds them)")
    busy = in_flight_accounts(context.instance, job_names or ["accounts_refresh"])
    position = {key: i for i, key in enumerate(keys)}
    requests, skipped = [], 0
    for first, last in batches(keys, accounts_per_run()):
        if busy & set(keys[position[first] : position[last] + 1]):
            skipped += 1
            continue
        requests.append(
            dg.RunRequest(run_key=f"{at.isoformat()}:{first}", tags=range_tags(first, last))
        )
    if not requests:
        return dg.SkipReason(f"all {skipped} batches still have an account run in flight")
    if skipped:
        context.log.info(f"{skipped} batches left to the next tick: their accounts are running")
    return requests


def registry_changes(
    context: dg.SensorEvaluationContext, registered: Sequence[str], remove: bool = True
):
    """Partitions for the accounts the registry gained; none any more for those it lost,
    unless told not to remove any."""
    current = context.instance.get_dynamic_partitions(ACCOUNTS.name)
    added = [a for a in registered if a not in set(current)]
    removed = [a for a in current if remove and a not in set(registered)]
    if not added and not removed:
        return dg.SkipReason(f"{len(current)} accounts, unchanged")
    requests = []
    if added:
        requests.append(ACCOUNTS.build_add_request(added))
    if removed:
        requests.append(ACCOUNTS.build_delete_request(removed))
    return dg.SensorResult(dynamic_partitions_requests=requests)


def publish_when_settled(context: dg.SensorEvaluationContext, job_name: str):
    """A publish run once some account was released since the last one and no account run is
    queued or running (so one publish gathers a whole hourly cycle)."""
    after = int(context.cursor) if context.cursor else None
    released = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(["accounts", "release"]), after_storage_id=after
        ),
        limit=1,
    ).records
    if not released:
        return dg.SkipReason("no account released since the last publish")
    busy = in_flight_accounts(context.instance, [job_name])
    if busy:
        return dg.SkipReason(f"waiting: {len(busy)} accounts still in runs")
    newest = released[0].storage_id
    context.update_cursor(str(newest))
    return dg.RunRequest(run_key=f"publish:{newest}")
