with goals as (
    select * from staging.stg_buildos__goals
),

final as (
    select
        account_id,
        goal_id,
        project_id,
        goal_name,
        goal_state,
        target_at,
        completed_at,
        created_at,
        updated_at,
        goal_state = 'achieved' as is_achieved,
        is_deleted
    from goals
)

select * from final
