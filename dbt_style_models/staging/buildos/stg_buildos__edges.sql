with source as (
    select * from buildos.edges
    where _removed_at is null
),

final as (
    select
        account_id,
        id as edge_id,
        project_id,
        rel as relation,
        src_kind as source_kind,
        src_id as source_id,
        dst_kind as target_kind,
        dst_id as target_id,
        created_at
    from source
)

select * from final
