-- Open goals of open projects that nothing open is working towards: no open, live entity has
-- a supports_goal edge to the goal. Either nothing supports it at all, or all that does is
-- finished (the goal is neither achieved nor abandoned, and no work is left in flight).
with nodes as (
    select * from marts.graph_nodes
),

edges as (
    select * from marts.graph_edges
    where relation = 'supports_goal'
),

goals as (
    select * from staging.stg_buildos__goals
),

projects as (
    select * from nodes
    where node_kind = 'project' and is_open
),

open_goals as (
    select nodes.*
    from nodes
    semi join projects
        on
            nodes.account_id = projects.account_id
            and nodes.project_id = projects.node_id
    where nodes.node_kind = 'goal' and nodes.is_open
),

support as (
    -- one row per goal and supporting entity, however many edges say so
    select distinct
        edges.account_id,
        edges.target_id as goal_id,
        edges.source_id as supporter_id,
        edges.is_source_live,
        supporters.is_open
    from edges
    inner join nodes as supporters
        on
            edges.account_id = supporters.account_id
            and edges.source_id = supporters.node_id
),

support_counts as (
    select
        account_id,
        goal_id,
        count(*) filter (where is_source_live) as live_supporters,
        count(*) filter (where is_open) as open_supporters
    from support
    group by all
),

final as (
    select
        open_goals.account_id,
        open_goals.node_id as goal_id,
        open_goals.project_id,
        open_goals.node_label as goal_name,
        open_goals.node_state as goal_state,
        projects.node_label as project_name,
        goals.target_at,
        coalesce(support_counts.live_supporters, 0) as live_supporters,
        case
            when coalesce(support_counts.live_supporters, 0) = 0 then 'no_supporting_work'
            else 'all_supporting_work_finished'
        end as reason
    from open_goals
    inner join projects
        on
            open_goals.account_id = projects.account_id
            and open_goals.project_id = projects.node_id
    inner join goals
        on
            open_goals.account_id = goals.account_id
            and open_goals.node_id = goals.goal_id
    left join support_counts
        on
            open_goals.account_id = support_counts.account_id
            and open_goals.node_id = support_counts.goal_id
    where coalesce(support_counts.open_supporters, 0) = 0
)

select * from final
