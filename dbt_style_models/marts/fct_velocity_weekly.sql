-- Tasks and effort points completed per project per ISO week: each final completion
-- (int_task_completions) counts once, in its week, with the weight in force when it was done.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

completions as (
    select * from intermediate.int_task_completions
),

as_of as (
    select * from intermediate.int_account_as_of
),

dates as (
    select * from intermediate.int_dates
),

weighted as (
    select
        completions.account_id,
        completions.project_id,
        cast(date_trunc('week', completions.completed_date) as date) as week_start,
        completions.effort_weight as effort_points,
        completions.facet_scale is null as is_unscaled
    from completions
),

weekly as (
    select
        account_id,
        project_id,
        week_start,
        count(*) as tasks_completed,
        sum(effort_points) as points_completed,
        count(*) filter (where is_unscaled) as unscaled_tasks_completed
    from weighted
    group by all
),

project_weeks as (
    select
        projects.account_id,
        projects.project_id,
        dates.day_date as week_start
    from projects
    inner join as_of on projects.account_id = as_of.account_id
    inner join dates
        on
            cast(date_trunc('week', projects.created_at at time zone 'UTC') as date)
            <= dates.day_date
            and cast(date_trunc('week', as_of.as_of_date) as date) >= dates.day_date
            and dates.day_of_week = 1
),

joined as (
    select
        project_weeks.account_id,
        project_weeks.project_id,
        project_weeks.week_start,
        coalesce(weekly.tasks_completed, 0) as tasks_completed,
        coalesce(weekly.points_completed, 0) as points_completed,
        coalesce(weekly.unscaled_tasks_completed, 0) as unscaled_tasks_completed
    from project_weeks
    left join weekly
        on
            project_weeks.account_id = weekly.account_id
            and project_weeks.project_id = weekly.project_id
            and project_weeks.week_start = weekly.week_start
),

final as (
    select
        account_id,
        project_id,
        week_start,
        isoyear(week_start) as iso_year,
        weekofyear(week_start) as iso_week,
        tasks_completed,
        points_completed,
        unscaled_tasks_completed,
        avg(tasks_completed) over last_3_weeks as tasks_completed_avg_3w,
        avg(tasks_completed) over last_6_weeks as tasks_completed_avg_6w,
        avg(points_completed) over last_3_weeks as points_completed_avg_3w,
        avg(points_completed) over last_6_weeks as points_completed_avg_6w
    from joined
    window
        last_3_weeks as (
            partition by account_id, project_id order by week_start
            rows between 2 preceding and current row
        ),
        last_6_weeks as (
            partition by account_id, project_id order by week_start
            rows between 5 preceding and current row
        )
)

select * from final
