-- The live relationship graph with both ends resolved to nodes of the same account. An edge
-- whose end is deleted (or unknown) is kept and flagged, never silently dropped.
with edges as (
    select * from staging.stg_buildos__edges
),

nodes as (
    select * from marts.graph_nodes
),

final as (
    select
        edges.account_id,
        edges.edge_id,
        edges.project_id,
        edges.relation,
        edges.source_id,
        sources.node_kind as source_kind,
        edges.target_id,
        targets.node_kind as target_kind,
        edges.created_at,
        sources.is_live as is_source_live,
        targets.is_live as is_target_live,
        sources.is_live and targets.is_live as is_live
    from edges
    inner join nodes as sources
        on
            edges.account_id = sources.account_id
            and edges.source_id = sources.node_id
    inner join nodes as targets
        on
            edges.account_id = targets.account_id
            and edges.target_id = targets.node_id
)

select * from final
