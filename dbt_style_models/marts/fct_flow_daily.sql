-- Flow per project per day: throughput (tasks whose final completion fell on the day, so a
-- week's days add up to fct_velocity_weekly), the cumulative flow of task states at the end of
-- the day (as Azure DevOps' cumulative flow diagram), work in progress and its average age.
-- The state counts and ages come from the running sums of int_project_daily_states.
with daily_states as (
    select * from intermediate.int_project_daily_states
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

final as (
    select
        daily_states.account_id,
        daily_states.project_id,
        daily_states.day_date,
        coalesce(throughput.throughput_tasks, 0) as throughput_tasks,
        daily_states.todo_tasks,
        daily_states.in_progress_tasks,
        daily_states.blocked_tasks,
        daily_states.done_tasks,
        daily_states.in_progress_tasks + daily_states.blocked_tasks as wip_tasks,
        -- the mean age at the end of the day of the WIP tasks that have been in progress;
        -- whole microseconds keep the mean exact
        case
            when daily_states.aged_wip_tasks > 0
                then
                    daily_states.aged_wip_age_microseconds
                    / daily_states.aged_wip_tasks
                    / 86400000000
        end as wip_average_age_days
    from daily_states
    left join throughput
        on
            daily_states.account_id = throughput.account_id
            and daily_states.project_id = throughput.project_id
            and daily_states.day_date = throughput.day_date
)

select * from final
