-- What one account's sync staged for {table}, reduced to the records whose payload the current
-- table does not already hold (new, changed, or back after removal). Each id is staged once
-- (landing keeps the last one staged).
create or replace temp table changed as
with staged as (
    select
        getvariable('account_id')::varchar as account_id,
        *,
        getvariable('synced_at')::timestamptz as _synced_at,
        getvariable('sync_id')::varchar as _sync_id
    from stage_{table}
),

final as (
    select s.*
    from staged as s
    where not exists (
        select 1
        from buildos.{table} as c
        where
            c.account_id = getvariable('account_id')
            and c.id = s.id
            and c.payload_hash = s.payload_hash
            and c._removed_at is null
    )
)

select * from final;
