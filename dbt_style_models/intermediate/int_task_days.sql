-- A view nothing heavy reads (the daily marts use int_project_daily_states). One row per task
-- per UTC day while the task is in scope (created by the end of the day and
-- not deleted by then), with its state at the end of the day.
with tasks as (
    select * from staging.stg_buildos__tasks
),

intervals as (
    select * from intermediate.int_task_state_intervals
),

as_of as (
    select * from intermediate.int_account_as_of
),

dates as (
    select * from intermediate.int_dates
),

spans as (
    select
        tasks.account_id,
        tasks.project_id,
        tasks.task_id,
        tasks.facet_scale,
        tasks.created_at,
        tasks.deleted_at,
        as_of.as_of_at,
        cast(tasks.created_at at time zone 'UTC' as date) as first_date,
        as_of.as_of_date as last_date
    from tasks
    inner join as_of on tasks.account_id = as_of.account_id
    where tasks.created_at < as_of.as_of_at
),

days as (
    select
        spans.*,
        dates.day_date,
        least(
            cast(dates.day_date + 1 as timestamp) at time zone 'UTC', spans.as_of_at
        ) as day_end_at
    from spans
    inner join dates
        on
            spans.first_date <= dates.day_date
            and spans.last_date >= dates.day_date
),

in_scope as (
    select * from days
    where
        created_at < day_end_at
        and (deleted_at is null or deleted_at >= day_end_at)
),

final as (
    select
        in_scope.account_id,
        in_scope.project_id,
        in_scope.task_id,
        in_scope.day_date,
        in_scope.facet_scale,
        intervals.task_state
    from in_scope
    inner join intervals
        on
            in_scope.account_id = intervals.account_id
            and in_scope.task_id = intervals.task_id
            and in_scope.day_end_at > intervals.valid_from
            and (intervals.valid_to is null or in_scope.day_end_at <= intervals.valid_to)
)

select * from final
