with sync_runs as (
    select * from staging.stg_buildos__sync_runs
    where sync_status = 'succeeded' and account_id is not null
),

latest as (
    select
        account_id,
        max(as_of_at) as as_of_at
    from sync_runs
    group by account_id
),

final as (
    select
        account_id,
        as_of_at,
        -- the last day that has begun before as_of_at (UTC); metrics run up to it
        cast((as_of_at - interval 1 microsecond) at time zone 'UTC' as date) as as_of_date
    from latest
)

select * from final
