-- Burndown and burnup per project per day. Scope is the live tasks at the end of the day;
-- the ideal line runs from the scope at the project's start down to zero at its end date; the
-- projection divides what remains by the trailing net burn rate (completion rate minus scope
-- growth rate over the last 14 days), as Azure DevOps does.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

tasks as (
    select * from staging.stg_buildos__tasks
),

daily_states as (
    select * from intermediate.int_project_daily_states
),

spine as (
    select * from intermediate.int_project_days
),

project_days as (
    select
        spine.account_id,
        spine.project_id,
        spine.day_date,
        -- a project that started before it was created in BuildOS: its line starts on the day
        -- it was created, from the scope of that day
        greatest(
            cast(coalesce(projects.start_at, projects.created_at) at time zone 'UTC' as date),
            cast(projects.created_at at time zone 'UTC' as date)
        ) as start_date,
        cast(projects.end_at at time zone 'UTC' as date) as end_date
    from spine
    inner join projects
        on
            spine.account_id = projects.account_id
            and spine.project_id = projects.project_id
),

added as (
    select
        account_id,
        project_id,
        -- the UTC date (as in int_project_daily_states: no time zone lookup per task)
        cast(make_timestamp(epoch_us(created_at)) as date) as day_date,
        count(*) as added_tasks
    from tasks
    group by all
),

removed as (
    select
        account_id,
        project_id,
        cast(make_timestamp(epoch_us(deleted_at)) as date) as day_date,
        count(*) as removed_tasks
    from tasks
    where deleted_at is not null
    group by all
),

joined as (
    select
        project_days.account_id,
        project_days.project_id,
        project_days.day_date,
        project_days.start_date,
        project_days.end_date,
        coalesce(daily_states.scope_tasks, 0) as scope_tasks,
        coalesce(daily_states.done_tasks, 0) as completed_tasks,
        coalesce(daily_states.scope_tasks, 0)
        - coalesce(daily_states.done_tasks, 0) as remaining_tasks,
        coalesce(added.added_tasks, 0) as added_tasks,
        coalesce(removed.removed_tasks, 0) as removed_tasks,
        coalesce(daily_states.scope_points, 0) as scope_points,
        coalesce(daily_states.done_points, 0) as completed_points,
        row_number() over (
            partition by project_days.account_id, project_days.project_id
            order by project_days.day_date
        ) - 1 as day_index
    from project_days
    left join daily_states
        on
            project_days.account_id = daily_states.account_id
            and project_days.project_id = daily_states.project_id
            and project_days.day_date = daily_states.day_date
    left join added
        on
            project_days.account_id = added.account_id
            and project_days.project_id = added.project_id
            and project_days.day_date = added.day_date
    left join removed
        on
            project_days.account_id = removed.account_id
            and project_days.project_id = removed.project_id
            and project_days.day_date = removed.day_date
),

start_scope as (
    -- the scope on the start day (the creation day when the project started earlier)
    select
        account_id,
        project_id,
        arg_min(scope_tasks, day_date) as start_scope_tasks
    from joined
    where day_date >= start_date
    group by all
),

with_start as (
    select
        joined.*,
        start_scope.start_scope_tasks
    from joined
    left join start_scope
        on
            joined.account_id = start_scope.account_id
            and joined.project_id = start_scope.project_id
),

lagged as (
    select
        *,
        least(day_index, 14) as window_days,
        lag(completed_tasks, 14) over (
            partition by account_id, project_id order by day_date
        ) as completed_14_days_before,
        lag(scope_tasks, 14) over (
            partition by account_id, project_id order by day_date
        ) as scope_14_days_before,
        first_value(completed_tasks) over (
            partition by account_id, project_id order by day_date
        ) as completed_first_day,
        first_value(scope_tasks) over (
            partition by account_id, project_id order by day_date
        ) as scope_first_day
    from with_start
),

window_starts as (
    select
        *,
        coalesce(completed_14_days_before, completed_first_day) as completed_window_start,
        coalesce(scope_14_days_before, scope_first_day) as scope_window_start
    from lagged
),

rates as (
    select
        *,
        case
            when window_days > 0
                then (completed_tasks - completed_window_start) / window_days
        end as burn_rate,
        case
            when window_days > 0 then (scope_tasks - scope_window_start) / window_days
        end as scope_growth_rate,
        -- the net burn over the window as a whole number of tasks: the projection divides
        -- integers, since the difference of two rounded rates can round 9 days up to 10
        (completed_tasks - completed_window_start)
        - (scope_tasks - scope_window_start) as net_burned_tasks
    from window_starts
),

final as (
    select
        account_id,
        project_id,
        day_date,
        scope_tasks,
        completed_tasks,
        remaining_tasks,
        added_tasks,
        removed_tasks,
        scope_points,
        completed_points,
        scope_points - completed_points as remaining_points,
        case
            when end_date is null or end_date <= start_date or day_date < start_date then null
            when day_date >= end_date then 0.0
            else start_scope_tasks * (end_date - day_date) / (end_date - start_date)
        end as ideal_remaining_tasks,
        burn_rate,
        scope_growth_rate,
        case
            when remaining_tasks = 0 then day_date
            when window_days > 0 and net_burned_tasks > 0
                then cast(
                    day_date
                    -- ceil(remaining / (net burned / window days)), in integers
                    + cast(
                        (remaining_tasks * window_days + net_burned_tasks - 1)
                        // net_burned_tasks as integer
                    )
                    as date
                )
        end as projected_completion_date
    from rates
)

select * from final
