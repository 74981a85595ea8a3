with source as (
    select * from meta.effort_weights
),

final as (
    select
        facet_scale,
        weight as effort_weight
    from source
)

select * from final
