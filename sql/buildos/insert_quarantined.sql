-- Records that could not be read; the same unreadable payload is kept once.
insert or ignore into meta.quarantine by name
select
    getvariable('account_id')::varchar as account_id,
    q.*,
    getvariable('synced_at')::timestamptz as _synced_at,
    getvariable('sync_id')::varchar as _sync_id
from quarantined as q;
