with source as (
    select * from buildos.braindumps
    where _removed_at is null
),

final as (
    select
        account_id,
        id as braindump_id,
        title as braindump_title,
        topics,
        status as braindump_status,
        error_message,
        created_at,
        processed_at,
        updated_at,
        metadata ->> 'source' as capture_source
    from source
)

select * from final
