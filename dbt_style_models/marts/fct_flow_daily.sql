-- Flow per project per day: throughput (tasks whose final completion fell on the day, so a
-- week's days add up to fct_velocity_weekly), the cumulative flow of task states at the end of
-- the day (as Azure DevOps' cumulative flow diagram), work in progress and its average age.
with intervals as (
    select * from intermediate.int_task_state_intervals
),

task_days as (
    select * from intermediate.int_task_days
),

as_of as (
    select * from intermediate.int_account_as_of
),

project_days as (
    select * from intermediate.int_project_days
),

completions as (
    select * from intermediate.int_task_completions
),

throughput as (
    select
        account_id,
        project_id,
        completed_date as day_date,
        count(*) as throughput_tasks
    from completions
    group by all
),

first_starts as (
    select
        account_id,
        task_id,
        min(valid_from) as first_started_at
    from intervals
    where task_state = 'in_progress'
    group by account_id, task_id
),

wip_days as (
    select
        task_days.account_id,
        task_days.project_id,
        task_days.day_date,
        first_starts.first_started_at,
        least(
            cast(task_days.day_date + 1 as timestamp) at time zone 'UTC', as_of.as_of_at
        ) as day_end_at
    from task_days
    inner join as_of on task_days.account_id = as_of.account_id
    left join first_starts
        on
            task_days.account_id = first_starts.account_id
            and task_days.task_id = first_starts.task_id
    where task_days.task_state in ('in_progress', 'blocked')
),

wip_ages as (
    select
        account_id,
        project_id,
        day_date,
        -- the age at the end of the day (at as_of_at on the as-of day), once the task has been
        -- in progress; whole microseconds keep the mean exact
        case
            when first_started_at < day_end_at
                then date_diff('microsecond', first_started_at, day_end_at)
        end as age_microseconds
    from wip_days
),

daily_states as (
    select
        account_id,
        project_id,
        day_date,
        count(*) filter (where task_state = 'todo') as todo_tasks,
        count(*) filter (where task_state = 'in_progress') as in_progress_tasks,
        count(*) filter (where task_state = 'blocked') as blocked_tasks,
        count(*) filter (where task_state = 'done') as done_tasks
    from task_days
    group by account_id, project_id, day_date
),

daily_ages as (
    select
        account_id,
        project_id,
        day_date,
        sum(age_microseconds) / count(age_microseconds) / 86400000000 as wip_average_age_days
    from wip_ages
    group by account_id, project_id, day_date
),

final as (
    select
        project_days.account_id,
        project_days.project_id,
        project_days.day_date,
        coalesce(throughput.throughput_tasks, 0) as throughput_tasks,
        coalesce(daily_states.todo_tasks, 0) as todo_tasks,
        coalesce(daily_states.in_progress_tasks, 0) as in_progress_tasks,
        coalesce(daily_states.blocked_tasks, 0) as blocked_tasks,
        coalesce(daily_states.done_tasks, 0) as done_tasks,
        coalesce(daily_states.in_progress_tasks, 0)
        + coalesce(daily_states.blocked_tasks, 0) as wip_tasks,
        daily_ages.wip_average_age_days
    from project_days
    left join throughput
        on
            project_days.account_id = throughput.account_id
            and project_days.project_id = throughput.project_id
            and project_days.day_date = throughput.day_date
    left join daily_states
        on
            project_days.account_id = daily_states.account_id
            and project_days.project_id = daily_states.project_id
            and project_days.day_date = daily_states.day_date
    left join daily_ages
        on
            project_days.account_id = daily_ages.account_id
            and project_days.project_id = daily_ages.project_id
            and project_days.day_date = daily_ages.day_date
)

select * from final
