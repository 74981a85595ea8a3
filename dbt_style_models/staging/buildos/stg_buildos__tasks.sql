with source as (
    select * from buildos.tasks
),

final as (
    select
        account_id,
        id as task_id,
        project_id,
        title as task_title,
        type_key,
        state_key as task_state,
        priority,
        start_at,
        due_at,
        completed_at,
        -- the column wins; older rows carry the scale only in props.facets.scale
        coalesce(facet_scale, props -> 'facets' ->> 'scale') as facet_scale,
        created_at,
        updated_at,
        coalesce(deleted_at, _removed_at) as deleted_at,
        coalesce(deleted_at, _removed_at) is not null as is_deleted
    from source
)

select * from final
