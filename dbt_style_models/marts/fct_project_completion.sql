-- Completion and timeliness per live project, as of the account's last sync. Counts read the
-- tasks as they are now: live tasks are the ones not deleted; done ones are the completions of
-- int_task_completions (a reopened task counts as not done until it is done again, and then by
-- its latest completed_at).
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

tasks as (
    select * from staging.stg_buildos__tasks
    where not is_deleted
),

completions as (
    select * from intermediate.int_task_completions
),

as_of as (
    select * from intermediate.int_account_as_of
),

task_flags as (
    select
        tasks.account_id,
        tasks.project_id,
        completions.task_id is not null as is_done,
        completions.task_id is not null and tasks.due_at is not null as is_done_with_due,
        coalesce(completions.completed_at <= tasks.due_at, false) as is_done_on_time,
        completions.task_id is null and tasks.due_at < as_of.as_of_at as is_overdue
    from tasks
    inner join as_of on tasks.account_id = as_of.account_id
    left join completions
        on
            tasks.account_id = completions.account_id
            and tasks.task_id = completions.task_id
),

task_counts as (
    select
        account_id,
        project_id,
        count(*) as live_tasks,
        count(*) filter (where is_done) as done_tasks,
        count(*) filter (where is_done_with_due) as tasks_with_due_done,
        count(*) filter (where is_done_on_time) as on_time_done_tasks,
        count(*) filter (where is_overdue) as overdue_tasks
    from task_flags
    group by all
),

joined as (
    select
        projects.account_id,
        projects.project_id,
        coalesce(task_counts.live_tasks, 0) as live_tasks,
        coalesce(task_counts.done_tasks, 0) as done_tasks,
        coalesce(task_counts.tasks_with_due_done, 0) as tasks_with_due_done,
        coalesce(task_counts.on_time_done_tasks, 0) as on_time_done_tasks,
        coalesce(task_counts.overdue_tasks, 0) as overdue_tasks,
        as_of.as_of_at
    from projects
    inner join as_of on projects.account_id = as_of.account_id
    left join task_counts
        on
            projects.account_id = task_counts.account_id
            and projects.project_id = task_counts.project_id
),

final as (
    select
        account_id,
        project_id,
        live_tasks,
        done_tasks,
        case when live_tasks > 0 then 100 * done_tasks / live_tasks end as completion_pct,
        tasks_with_due_done,
        on_time_done_tasks,
        case
            when tasks_with_due_done > 0 then on_time_done_tasks / tasks_with_due_done
        end as on_time_completion_rate,
        overdue_tasks,
        as_of_at
    from joined
)

select * from final
