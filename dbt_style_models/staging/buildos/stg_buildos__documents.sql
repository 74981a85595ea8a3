with source as (
    select * from buildos.documents
),

final as (
    select
        account_id,
        id as document_id,
        project_id,
        title as document_title,
        type_key,
        state_key as document_state,
        created_at,
        updated_at,
        coalesce(deleted_at, _removed_at) as deleted_at,
        coalesce(deleted_at, _removed_at) is not null as is_deleted
    from source
)

select * from final
