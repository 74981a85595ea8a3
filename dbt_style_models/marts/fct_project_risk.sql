-- Projects at risk, as of the account's as-of day (dim_accounts): an active or planning project
-- with work left is overdue (past its end date), or at risk when it is projected to finish
-- after its end date, is behind its ideal line by more than the tolerance (a share of its
-- scope and a number of tasks, both), has a missed milestone or has blocked work.
-- See docs/metrics.md, "Projects at risk".
with tolerance as (
    -- behind the ideal line counts only beyond both (ModelSettings; 10% and 2 tasks)
    select * from staging.stg_buildos__risk_tolerance
),

projects as (
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
        latest_day.scope_tasks,
        latest_day.remaining_tasks,
        latest_day.ideal_remaining_tasks,
        latest_day.projected_completion_date,
        latest_day.burn_rate,
        cast(projects.end_at at time zone 'UTC' as date) as end_date,
        coalesce(
            latest_day.remaining_tasks - latest_day.ideal_remaining_tasks
            > tolerance.behind_tasks
            and latest_day.remaining_tasks - latest_day.ideal_remaining_tasks
            > tolerance.behind_share_of_scope * latest_day.scope_tasks
            -- past the end date the ideal is 0 and says nothing: that is overdue
            and cast(projects.end_at at time zone 'UTC' as date) >= as_of.as_of_date,
            false
        ) as is_behind_ideal,
        coalesce(missed.missed_milestones, 0) as missed_milestones,
        coalesce(project_status.blocked_tasks, 0) as blocked_tasks,
        tolerance.behind_share_of_scope,
        tolerance.behind_tasks
    from projects
    cross join tolerance
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

schedule as (
    select
        *,
        coalesce(end_date < as_of_date and remaining_tasks > 0, false) as is_overdue,
        -- late: the projection lands after the end date, or there is none (the net pace is
        -- not positive) once the project has a burn rate (from its second day)
        coalesce(
            end_date >= as_of_date
            and remaining_tasks > 0
            and (
                projected_completion_date > end_date
                or (projected_completion_date is null and burn_rate is not null)
            ),
            false
        ) as is_projected_late
    from joined
),

final as (
    select
        account_id,
        project_id,
        project_name,
        project_state,
        as_of_date,
        remaining_tasks,
        ideal_remaining_tasks,
        projected_completion_date,
        end_date,
        is_behind_ideal,
        missed_milestones,
        blocked_tasks,
        scope_tasks,
        is_overdue,
        is_projected_late,
        behind_share_of_scope,
        behind_tasks,
        project_state in ('active', 'planning')
        and (
            is_overdue
            or is_projected_late
            or is_behind_ideal
            or missed_milestones > 0
            or blocked_tasks > 0
        ) as is_at_risk,
        case
            when project_state not in ('active', 'planning') then 'not assessed'
            when is_overdue then 'overdue'
            when
                is_projected_late
                or is_behind_ideal
                or missed_milestones > 0
                or blocked_tasks > 0
                then 'at risk'
            else 'on track'
        end as risk_status,
        list_filter(
            [
                case when is_overdue then 'past its end date' end,
                case when is_projected_late then 'projected to finish late' end,
                case when is_behind_ideal then 'behind the ideal burndown' end,
                case when missed_milestones > 0 then 'missed milestones' end,
                case when blocked_tasks > 0 then 'blocked work' end
            ],
            lambda reason: reason is not null
        ) as risk_reasons
    from schedule
)

select * from final
