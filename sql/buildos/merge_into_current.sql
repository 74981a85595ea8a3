-- Upsert the batch into the current-state table; rows whose payload did not change are left
-- as they are (their first _sync_id stays).
insert or replace into buildos.{table} ({columns}, _removed_at)
select
    {columns},
    null as _removed_at
from batch as b
where not exists (
    select 1
    from buildos.{table} as c
    where
        c.account_id = b.account_id
        and c.id = b.id
        and c.payload_hash = b.payload_hash
        and c._removed_at is null
);
