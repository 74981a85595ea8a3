-- Every entity of the relationship graph, one node each. An edge end the pipeline holds no row
-- for (a kind it does not land, such as a requirement or a risk) still becomes a node, flagged
-- is_landed = false, so that no edge dangles: graph tools refuse an edge to a missing node.
with projects as (
    select * from staging.stg_buildos__projects
),

tasks as (
    select * from staging.stg_buildos__tasks
),

goals as (
    select * from staging.stg_buildos__goals
),

milestones as (
    select * from staging.stg_buildos__milestones
),

plans as (
    select * from staging.stg_buildos__plans
),

documents as (
    select * from staging.stg_buildos__documents
),

edges as (
    select * from staging.stg_buildos__edges
),

entities as (
    select
        account_id,
        project_id as node_id,
        'project' as node_kind,
        project_name as node_label,
        project_id,
        project_state as node_state,
        created_at,
        deleted_at,
        is_deleted
    from projects
    union all
    select
        account_id,
        task_id as node_id,
        'task' as node_kind,
        task_title as node_label,
        project_id,
        task_state as node_state,
        created_at,
        deleted_at,
        is_deleted
    from tasks
    union all
    select
        account_id,
        goal_id as node_id,
        'goal' as node_kind,
        goal_name as node_label,
        project_id,
        goal_state as node_state,
        created_at,
        deleted_at,
        is_deleted
    from goals
    union all
    select
        account_id,
        milestone_id as node_id,
        'milestone' as node_kind,
        milestone_title as node_label,
        project_id,
        milestone_state as node_state,
        created_at,
        deleted_at,
        is_deleted
    from milestones
    union all
    select
        account_id,
        plan_id as node_id,
        'plan' as node_kind,
        plan_name as node_label,
        project_id,
        plan_state as node_state,
        created_at,
        deleted_at,
        is_deleted
    from plans
    union all
    select
        account_id,
        document_id as node_id,
        'document' as node_kind,
        document_title as node_label,
        project_id,
        document_state as node_state,
        created_at,
        deleted_at,
        is_deleted
    from documents
),

edge_ends as (
    select
        account_id,
        source_id as node_id,
        source_kind as node_kind,
        project_id
    from edges
    union all
    select
        account_id,
        target_id as node_id,
        target_kind as node_kind,
        project_id
    from edges
),

unlanded as (
    -- one row per end the pipeline has no entity for; the edges name its kind
    select
        edge_ends.account_id,
        edge_ends.node_id,
        coalesce(min(edge_ends.node_kind), 'unknown') as node_kind,
        min(edge_ends.project_id) as project_id
    from edge_ends
    anti join entities
        on
            edge_ends.account_id = entities.account_id
            and edge_ends.node_id = entities.node_id
    group by edge_ends.account_id, edge_ends.node_id
),

landed as (
    select
        entities.*,
        true as is_landed,
        not entities.is_deleted and not coalesce(projects.is_deleted, true) as is_live
    from entities
    left join projects
        on
            entities.account_id = projects.account_id
            and entities.project_id = projects.project_id
),

all_nodes as (
    select * from landed
    union all by name
    select
        account_id,
        node_id,
        node_kind,
        null as node_label,
        project_id,
        null as node_state,
        cast(null as timestamptz) as created_at,
        cast(null as timestamptz) as deleted_at,
        false as is_deleted,
        false as is_landed,
        false as is_live
    from unlanded
),

final as (
    select
        account_id,
        node_id,
        node_kind,
        node_label,
        project_id,
        node_state,
        created_at,
        deleted_at,
        is_deleted,
        is_landed,
        is_live,
        -- still to be finished: live, and not in the kind's finished states
        is_live and case node_kind
            when 'task' then node_state <> 'done'
            when 'project' then node_state in ('planning', 'active', 'paused')
            when 'goal' then node_state in ('draft', 'active')
            when 'milestone' then node_state <> 'completed'
            when 'plan' then node_state <> 'completed'
            else true
        end as is_open
    from all_nodes
)

select * from final
