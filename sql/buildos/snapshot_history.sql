-- A changed record is a new version: close the open version it replaces...
update history.{table} as h
set valid_to = coalesce(n.updated_at, n.created_at, n._synced_at)
from changed as n
where
    h.account_id = getvariable('account_id')
    and h.id = n.id
    and h.valid_to is null
    and h.payload_hash <> n.payload_hash;

-- ...reopen the version a record returns to after it was marked removed (the same payload
-- from the same instant: the insert below would take it for a version already recorded)...
update history.{table} as h
set valid_to = null
from changed as n
where
    h.account_id = getvariable('account_id')
    and h.id = n.id
    and h.payload_hash = n.payload_hash
    and h.valid_to is not null
    and h.valid_from = coalesce(n.updated_at, n.created_at, n._synced_at)
    and not exists (
        select 1
        from history.{table} as o
        where
            o.account_id = h.account_id
            and o.id = h.id
            and o.valid_to is null
    );

-- ...and open it, unless it is the open version already or was recorded from the same instant.
insert into history.{table} by name
select
    {columns},
    coalesce(updated_at, created_at, _synced_at) as valid_from,
    null as valid_to
from changed as n
where not exists (
    select 1
    from history.{table} as h
    where
        h.account_id = getvariable('account_id')
        and h.id = n.id
        and h.payload_hash = n.payload_hash
        and (
            h.valid_to is null
            or h.valid_from = coalesce(n.updated_at, n.created_at, n._synced_at)
        )
);
