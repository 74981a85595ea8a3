with source as (
    select * from buildos.logs
),

final as (
    select
        account_id,
        id as log_id,
        project_id,
        entity_type,
        entity_id,
        entity_name,
        action as log_action,
        before_data ->> 'state_key' as state_before,
        after_data ->> 'state_key' as state_after,
        changed_by_name,
        change_source,
        created_at as logged_at
    from source
)

select * from final
