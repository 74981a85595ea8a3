with source as (
    select * from history.tasks
),

final as (
    select
        account_id,
        id as task_id,
        project_id,
        state_key as task_state,
        completed_at,
        due_at,
        updated_at,
        deleted_at,
        valid_from,
        valid_to
    from source
)

select * from final
