-- Keep each distinct payload once: raw already holds every payload the current table refers
-- to, so only the changed records can bring a new one.
insert into raw.{table} by name
select
    n.account_id,
    n.id,
    n.payload_hash,
    n.payload,
    n._synced_at,
    n._sync_id
from changed as n
where not exists (
    select 1
    from raw.{table} as r
    where
        r.account_id = getvariable('account_id')
        and r.id = n.id
        and r.payload_hash = n.payload_hash
);
