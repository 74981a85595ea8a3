-- What holds up each open task and project: every open entity that blocks it through a chain
-- of blocks / depends_on edges. "a blocks b" and "b depends_on a" both make a a blocker of b.
-- Only open, live entities block or pass blocking on: a done task no longer holds anything up.
-- The walk is breadth first and keyed by (account, blocked, blocker), so each pair is found
-- once, at its fewest steps, and a dependency cycle ends the walk instead of looping: the
-- cycle shows as an entity among its own blockers (is_cycle), its path the cycle itself.
-- The linter cannot parse USING KEY (DuckDB 1.3+), hence the noqa; this file is formatted by hand.
with recursive nodes as (  -- noqa: PRS
    select * from marts.graph_nodes
),

edges as (
    select * from marts.graph_edges
    where relation in ('blocks', 'depends_on') and is_live
),

links as (
    select distinct
        edges.account_id,
        case edges.relation when 'blocks' then edges.source_id else edges.target_id end
            as blocker_id,
        case edges.relation when 'blocks' then edges.target_id else edges.source_id end
            as blocked_id
    from edges
),

open_links as (
    select links.*
    from links
    semi join nodes as blockers
        on
            links.account_id = blockers.account_id
            and links.blocker_id = blockers.node_id
            and blockers.is_open
    semi join nodes as blocked
        on
            links.account_id = blocked.account_id
            and links.blocked_id = blocked.node_id
            and blocked.is_open
),

reach (account_id, blocked_id, blocker_id, depth, path) using key (
    account_id, blocked_id, blocker_id
) as (
    select
        account_id,
        blocked_id,
        blocker_id,
        1 as depth,
        [blocker_id, blocked_id] as path
    from open_links
    union
    -- one step further back, to pairs not found yet (the fewest steps win; ties take the
    -- first path in order, so a rebuild gives the same path)
    select
        reach.account_id,
        reach.blocked_id,
        open_links.blocker_id,
        reach.depth + 1 as depth,
        list_prepend(open_links.blocker_id, reach.path) as path
    from reach
    inner join open_links
        on
            reach.account_id = open_links.account_id
            and reach.blocker_id = open_links.blocked_id
    where
        reach.blocker_id <> reach.blocked_id
        and not exists (
            select 1 from recurring.reach as found
            where
                found.account_id = reach.account_id
                and found.blocked_id = reach.blocked_id
                and found.blocker_id = open_links.blocker_id
        )
    qualify row_number() over (
        partition by reach.account_id, reach.blocked_id, open_links.blocker_id
        order by list_prepend(open_links.blocker_id, reach.path)
    ) = 1
),

task_rows as (
    -- a project's own edges take part as any entity's do; its row is rebuilt below
    select
        reach.*,
        reach.blocked_id as via_id
    from reach
    semi join nodes
        on
            reach.account_id = nodes.account_id
            and reach.blocked_id = nodes.node_id
            and nodes.node_kind = 'task'
),

project_rows as (
    -- a project is held up by what blocks it and by what blocks any of its open tasks
    select
        nodes.account_id,
        nodes.project_id as blocked_id,
        reach.blocker_id,
        reach.depth,
        reach.path,
        reach.blocked_id as via_id
    from reach
    inner join nodes
        on
            reach.account_id = nodes.account_id
            and reach.blocked_id = nodes.node_id
            and nodes.node_kind in ('task', 'project')
    semi join nodes as projects
        on
            nodes.account_id = projects.account_id
            and nodes.project_id = projects.node_id
            and projects.node_kind = 'project'
            and projects.is_open
    qualify row_number() over (
        partition by nodes.account_id, nodes.project_id, reach.blocker_id
        order by reach.depth, reach.path
    ) = 1
),

blocked_rows as (
    select
        'task' as blocked_kind,
        *
    from task_rows
    union all by name
    select
        'project' as blocked_kind,
        *
    from project_rows
),

final as (
    select
        blocked_rows.account_id,
        blocked_rows.blocked_kind,
        blocked_rows.blocked_id,
        blocked.project_id as blocked_project_id,
        blocked.node_label as blocked_label,
        blocked_rows.blocker_id,
        blockers.node_kind as blocker_kind,
        blockers.project_id as blocker_project_id,
        blockers.node_label as blocker_label,
        blockers.node_state as blocker_state,
        blocked_rows.via_id,
        blocked_rows.depth,
        blocked_rows.path,
        blocked_rows.depth = 1 and blocked_rows.via_id = blocked_rows.blocked_id as is_direct,
        blockers.project_id <> blocked.project_id as is_other_project,
        blocked_rows.blocker_id = blocked_rows.via_id as is_cycle,
        -- blocker and blocked item hold each other up: both lie on one dependency cycle
        blocked_rows.blocker_id = blocked_rows.via_id or exists (
            select 1 from reach as back
            where
                back.account_id = blocked_rows.account_id
                and back.blocked_id = blocked_rows.blocker_id
                and back.blocker_id = blocked_rows.via_id
        ) as is_in_cycle
    from blocked_rows
    inner join nodes as blocked
        on
            blocked_rows.account_id = blocked.account_id
            and blocked_rows.blocked_id = blocked.node_id
    inner join nodes as blockers
        on
            blocked_rows.account_id = blockers.account_id
            and blocked_rows.blocker_id = blockers.node_id
)

select * from final
