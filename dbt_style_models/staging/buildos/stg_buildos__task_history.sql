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
        -- as in stg_buildos__tasks: the column wins, older rows carry it in props
        coalesce(facet_scale, props -> 'facets' ->> 'scale') as facet_scale,
        due_at,
        updated_at,
        deleted_at,
        valid_from,
        valid_to
    from source
)

select * from final
