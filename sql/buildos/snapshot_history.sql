-- A new version is a record whose payload differs from its open version (or has none).
create or replace temp table new_versions as
select
    b.*,
    coalesce(b.updated_at, b.created_at, b._synced_at) as valid_from
from batch as b
left join history.{table} as h
    on
        b.account_id = h.account_id
        and b.id = h.id
        and h.valid_to is null
where h.id is null or h.payload_hash <> b.payload_hash;

-- Close the versions they replace...
update history.{table} as h
set valid_to = n.valid_from
from new_versions as n
where
    h.account_id = n.account_id
    and h.id = n.id
    and h.valid_to is null;

-- ...and open the new ones.
insert or ignore into history.{table} ({columns}, valid_from, valid_to)
select
    {columns},
    valid_from,
    null as valid_to
from new_versions;
