-- Keep each distinct payload once: a re-run of the same input adds nothing.
insert or ignore into raw.{table} (account_id, id, payload, payload_hash, _synced_at, _sync_id)
select
    account_id,
    id,
    payload,
    payload_hash,
    _synced_at,
    _sync_id
from batch;
