with source as (
    select * from buildos.logs
    where entity_type = 'task'
),

final as (
    select
        account_id,
        id as log_id,
        project_id,
        entity_id as task_id,
        action as log_action,
        before_data ->> 'state_key' as state_before,
        after_data ->> 'state_key' as state_after,
        before_data ->> 'due_at' as due_before_text,
        after_data ->> 'due_at' as due_after_text,
        change_source,
        created_at as logged_at
    from source
)

select * from final
