with source as (
    select * from buildos.briefs
    where _removed_at is null
),

final as (
    select
        account_id,
        id as brief_id,
        brief_date,
        generation_status,
        generation_error,
        generation_started_at,
        generation_completed_at,
        created_at
    from source
)

select * from final
