with source as (
    select * from buildos.milestones
),

final as (
    select
        account_id,
        id as milestone_id,
        project_id,
        title as milestone_title,
        state_key as milestone_state,
        due_at,
        completed_at,
        created_at,
        updated_at,
        coalesce(deleted_at, _removed_at) as deleted_at,
        coalesce(deleted_at, _removed_at) is not null as is_deleted
    from source
)

select * from final
