-- Projects at risk: active or planning projects that are behind their ideal burndown line,
-- have missed a milestone, or have blocked work, as of the account's as-of day (dim_accounts).
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

burndown as (
    select * from marts.fct_burndown_daily
),

milestones as (
    select * from marts.dim_milestones
),

project_status as (
    select * from marts.fct_project_status
),

as_of as (
    select * from marts.dim_accounts
),

latest_day as (
    -- the burndown on the account's as-of day
    select burndown.*
    from burndown
    inner join as_of
        on
            burndown.account_id = as_of.account_id
            and burndown.day_date = as_of.as_of_date
),

missed as (
    select
        account_id,
        project_id,
        count(*) as missed_milestones
    from milestones
    where is_missed and not is_deleted
    group by all
),

joined as (
    select
        projects.account_id,
        projects.project_id,
        projects.project_name,
        projects.project_state,
        as_of.as_of_date,
        latest_day.remaining_tasks,
        latest_day.ideal_remaining_tasks,
        latest_day.projected_completion_date,
        cast(projects.end_at at time zone 'UTC' as date) as end_date,
        coalesce(
            latest_day.remaining_tasks > latest_day.ideal_remaining_tasks, false
        ) as is_behind_ideal,
        coalesce(missed.missed_milestones, 0) as missed_milestones,
        coalesce(project_status.blocked_tasks, 0) as blocked_tasks
    from projects
    inner join as_of on projects.account_id = as_of.account_id
    left join latest_day
        on
            projects.account_id = latest_day.account_id
            and projects.project_id = latest_day.project_id
    left join missed
        on
            projects.account_id = missed.account_id
            and projects.project_id = missed.project_id
    left join project_status
        on
            projects.account_id = project_status.account_id
            and projects.project_id = project_status.project_id
),

final as (
    select
        *,
        project_state in ('active', 'planning')
        and (is_behind_ideal or missed_milestones > 0 or blocked_tasks > 0) as is_at_risk,
        list_filter(
            [
                case when is_behind_ideal then 'behind the ideal burndown' end,
                case when missed_milestones > 0 then 'missed milestones' end,
                case when blocked_tasks > 0 then 'blocked work' end
            ],
            lambda reason: reason is not null
        ) as risk_reasons
    from joined
)

select * from final
