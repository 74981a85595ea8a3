with source as (
    select * from meta.risk_tolerance
),

final as (
    select
        behind_share_of_scope,
        behind_tasks
    from source
)

select * from final
