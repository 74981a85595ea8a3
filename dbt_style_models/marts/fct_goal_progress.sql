-- Goal progress as BuildOS defines it: the share of the goal's linked tasks that are done,
-- where a task is linked by a supports_goal edge (task -> goal) and only live tasks count.
-- props.goal_id is not read: the app keeps it on some tasks only, the edge is the link.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

goals as (
    select * from staging.stg_buildos__goals
    where not is_deleted
),

tasks as (
    select * from staging.stg_buildos__tasks
    where not is_deleted
),

edges as (
    select * from staging.stg_buildos__edges
    where relation = 'supports_goal'
),

completions as (
    select * from intermediate.int_task_completions
),

as_of as (
    select * from intermediate.int_account_as_of
),

links as (
    -- one row per goal and linked live task, however many edges say so
    select distinct
        edges.account_id,
        edges.target_id as goal_id,
        tasks.task_id,
        completions.task_id is not null as is_done
    from edges
    inner join tasks
        on
            edges.account_id = tasks.account_id
            and edges.source_id = tasks.task_id
    left join completions
        on
            tasks.account_id = completions.account_id
            and tasks.task_id = completions.task_id
),

link_counts as (
    select
        account_id,
        goal_id,
        count(*) as linked_tasks,
        count(*) filter (where is_done) as done_linked_tasks
    from links
    group by all
),

joined as (
    select
        goals.account_id,
        goals.goal_id,
        goals.project_id,
        goals.goal_name,
        goals.goal_state,
        goals.target_at,
        coalesce(link_counts.linked_tasks, 0) as linked_tasks,
        coalesce(link_counts.done_linked_tasks, 0) as done_linked_tasks,
        as_of.as_of_at
    from goals
    inner join projects
        on
            goals.account_id = projects.account_id
            and goals.project_id = projects.project_id
    inner join as_of on goals.account_id = as_of.account_id
    left join link_counts
        on
            goals.account_id = link_counts.account_id
            and goals.goal_id = link_counts.goal_id
),

final as (
    select
        account_id,
        goal_id,
        project_id,
        goal_name,
        goal_state,
        target_at,
        goal_state = 'achieved' as is_achieved,
        linked_tasks,
        done_linked_tasks,
        case when linked_tasks > 0 then 100 * done_linked_tasks / linked_tasks end as progress_pct,
        as_of_at
    from joined
)

select * from final
