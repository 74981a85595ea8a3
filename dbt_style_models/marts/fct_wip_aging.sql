-- Work in progress now: every live task whose state is in_progress or blocked at the as-of
-- time, how long ago it was first started (work item age) and how long it has been in its
-- current state.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

tasks as (
    select * from staging.stg_buildos__tasks
),

intervals as (
    select * from intermediate.int_task_state_intervals
),

as_of as (
    select * from intermediate.int_account_as_of
),

wip_tasks as (
    select
        tasks.account_id,
        tasks.project_id,
        tasks.task_id,
        tasks.task_state,
        as_of.as_of_at
    from tasks
    inner join projects
        on
            tasks.account_id = projects.account_id
            and tasks.project_id = projects.project_id
    inner join as_of on tasks.account_id = as_of.account_id
    where
        tasks.task_state in ('in_progress', 'blocked')
        and not tasks.is_deleted
),

task_history as (
    select
        account_id,
        task_id,
        min(valid_from) filter (where task_state = 'in_progress') as first_started_at,
        -- the open interval is the current state
        max(valid_from) filter (where valid_to is null) as current_state_since_at
    from intervals
    group by account_id, task_id
),

final as (
    select
        wip_tasks.account_id,
        wip_tasks.project_id,
        wip_tasks.task_id,
        wip_tasks.task_state,
        task_history.first_started_at,
        task_history.current_state_since_at,
        date_diff('microsecond', task_history.first_started_at, wip_tasks.as_of_at)
        / 86400000000 as age_days,
        date_diff('microsecond', task_history.current_state_since_at, wip_tasks.as_of_at)
        / 86400000000 as days_in_current_state
    from wip_tasks
    left join task_history
        on
            wip_tasks.account_id = task_history.account_id
            and wip_tasks.task_id = task_history.task_id
)

select * from final
