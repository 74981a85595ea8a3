with source as (
    select * from buildos.plans
),

final as (
    select
        account_id,
        id as plan_id,
        project_id,
        name as plan_name,
        type_key,
        state_key as plan_state,
        created_at,
        updated_at,
        coalesce(deleted_at, _removed_at) as deleted_at,
        coalesce(deleted_at, _removed_at) is not null as is_deleted
    from source
)

select * from final
