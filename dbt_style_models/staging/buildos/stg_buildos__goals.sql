with source as (
    select * from buildos.goals
),

final as (
    select
        account_id,
        id as goal_id,
        project_id,
        name as goal_name,
        state_key as goal_state,
        target_date as target_at,
        completed_at,
        created_at,
        updated_at,
        coalesce(deleted_at, _removed_at) as deleted_at,
        coalesce(deleted_at, _removed_at) is not null as is_deleted
    from source
)

select * from final
