with source as (
    select * from meta.sync_runs
),

final as (
    select
        sync_id,
        account_id,
        mode as sync_mode,
        status as sync_status,
        started_at,
        finished_at,
        server_now as as_of_at
    from source
)

select * from final
