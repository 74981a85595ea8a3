with source as (
    select * from buildos.projects
),

final as (
    select
        account_id,
        id as project_id,
        name as project_name,
        description as project_description,
        type_key,
        state_key as project_state,
        facet_context,
        facet_scale,
        facet_stage,
        start_at,
        end_at,
        next_step_short,
        created_at,
        updated_at,
        coalesce(deleted_at, _removed_at) as deleted_at,
        coalesce(deleted_at, _removed_at) is not null as is_deleted
    from source
)

select * from final
