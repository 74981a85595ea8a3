-- Flow times of every completed task, counted once at its final completion (the completed_at of
-- a task that is done now), as fct_velocity_weekly counts it. Lead time runs from creation,
-- cycle time from the first move to in_progress; blocked time and reopens are counted before
-- the final completion. Deleted tasks and tasks of deleted projects do not count.
-- Durations are differences of microseconds since the epoch: the same numbers as
-- date_diff('microsecond', ...), which on timestamptz consults the time zone calendar per row.
with intervals as (
    select * from intermediate.int_task_state_intervals
),

completed_tasks as (
    select * from intermediate.int_task_completions
),

history_before_completion as (
    select
        completed_tasks.account_id,
        completed_tasks.task_id,
        intervals.task_state,
        intervals.valid_from,
        intervals.valid_to,
        least(
            coalesce(intervals.valid_to, completed_tasks.completed_at),
            completed_tasks.completed_at
        ) as clipped_to
    from completed_tasks
    inner join intervals
        on
            completed_tasks.account_id = intervals.account_id
            and completed_tasks.task_id = intervals.task_id
    where intervals.valid_from < completed_tasks.completed_at
),

task_history as (
    select
        account_id,
        task_id,
        min(valid_from) filter (where task_state = 'in_progress') as first_started_at,
        sum(epoch_us(clipped_to) - epoch_us(valid_from)) filter (
            where task_state = 'blocked'
        ) as blocked_microseconds,
        -- a done interval that ended before the final completion was a reopen
        count(*) filter (where task_state = 'done' and valid_to is not null) as times_reopened
    from history_before_completion
    group by account_id, task_id
),

final as (
    select
        completed_tasks.account_id,
        completed_tasks.project_id,
        completed_tasks.task_id,
        completed_tasks.created_at,
        task_history.first_started_at,
        completed_tasks.completed_at,
        (epoch_us(completed_tasks.completed_at) - epoch_us(completed_tasks.created_at))
        / 86400000000 as lead_time_days,
        (epoch_us(completed_tasks.completed_at) - epoch_us(task_history.first_started_at))
        / 86400000000 as cycle_time_days,
        coalesce(task_history.blocked_microseconds, 0) / 86400000000 as blocked_days,
        coalesce(task_history.times_reopened, 0) as times_reopened,
        completed_tasks.completed_date,
        cast(date_trunc('week', completed_tasks.completed_date) as date) as completed_week_start
    from completed_tasks
    left join task_history
        on
            completed_tasks.account_id = task_history.account_id
            and completed_tasks.task_id = task_history.task_id
)

select * from final
