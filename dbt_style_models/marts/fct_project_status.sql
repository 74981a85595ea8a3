-- The status of each live project in one row, the shape an assistant asks for: how far along
-- it is, what is stuck, what comes next and what happened last. Dependencies are read from
-- both relations: "A depends_on B" and "B blocks A" both mean A waits for B, and a dependency
-- stays open while B (the task that must finish first) is not done. Both tasks must be live.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

completion as (
    select * from marts.fct_project_completion
),

tasks as (
    select * from staging.stg_buildos__tasks
    where not is_deleted
),

edges as (
    select * from staging.stg_buildos__edges
    where relation in ('depends_on', 'blocks')
),

milestones as (
    select * from staging.stg_buildos__milestones
    where not is_deleted
),

logs as not materialized (
    -- read twice, but not materialized: the ids of the last five need no JSON states
    select * from staging.stg_buildos__logs
),

as_of as (
    select * from intermediate.int_account_as_of
),

blocked as (
    select
        account_id,
        project_id,
        count(*) as blocked_tasks
    from tasks
    where task_state = 'blocked'
    group by all
),

waits as (
    select
        account_id,
        source_id as waiting_task_id,
        target_id as prerequisite_task_id
    from edges
    where relation = 'depends_on'
    union all
    select
        account_id,
        target_id as waiting_task_id,
        source_id as prerequisite_task_id
    from edges
    where relation = 'blocks'
),

open_waits as (
    -- one row per (waiting, prerequisite) pair, even when both relations state it
    select distinct
        waits.account_id,
        waiting.project_id,
        waits.waiting_task_id,
        waits.prerequisite_task_id
    from waits
    inner join tasks as waiting
        on
            waits.account_id = waiting.account_id
            and waits.waiting_task_id = waiting.task_id
    inner join tasks as prerequisite
        on
            waits.account_id = prerequisite.account_id
            and waits.prerequisite_task_id = prerequisite.task_id
    where prerequisite.task_state <> 'done'
),

dependencies as (
    select
        account_id,
        project_id,
        count(*) as open_dependencies
    from open_waits
    group by all
),

next_milestones as (
    select
        milestones.account_id,
        milestones.project_id,
        milestones.milestone_title,
        milestones.due_at,
        cast(milestones.due_at at time zone 'UTC' as date) - as_of.as_of_date as days_until_due
    from milestones
    inner join as_of on milestones.account_id = as_of.account_id
    where
        milestones.milestone_state <> 'completed'
        and milestones.due_at >= as_of.as_of_at
    qualify row_number() over (
        partition by milestones.account_id, milestones.project_id
        order by milestones.due_at asc, milestones.milestone_id asc
    ) = 1
),

latest_logs as (
    -- the last five log ids of each project: a top-n aggregate over the ids and times only, so
    -- the log lines below are written (and their JSON states read) for those five alone
    select
        account_id,
        project_id,
        unnest(max_by(log_id, struct_pack(logged_at := logged_at, log_id := log_id), 5)) as log_id
    from logs
    group by account_id, project_id
),

log_lines as (
    select
        logs.account_id,
        logs.project_id,
        logs.log_id,
        logs.logged_at,
        cast(cast(logs.logged_at at time zone 'UTC' as date) as varchar)
        || ': '
        || logs.entity_type
        || ' '''
        || coalesce(logs.entity_name, logs.entity_id)
        || ''' '
        || case
            when logs.log_action = 'updated' and logs.state_before <> logs.state_after
                then 'moved from ' || logs.state_before || ' to ' || logs.state_after
            else logs.log_action
        end as update_text
    from logs
    inner join latest_logs
        on
            logs.account_id = latest_logs.account_id
            and logs.project_id = latest_logs.project_id
            and logs.log_id = latest_logs.log_id
),

recent as (
    select
        account_id,
        project_id,
        list(update_text order by logged_at desc, log_id desc) as recent_updates
    from log_lines
    group by all
),

final as (
    select
        projects.account_id,
        projects.project_id,
        projects.project_name,
        projects.project_state,
        completion.completion_pct,
        completion.live_tasks,
        completion.done_tasks,
        completion.overdue_tasks,
        coalesce(blocked.blocked_tasks, 0) as blocked_tasks,
        coalesce(dependencies.open_dependencies, 0) as open_dependencies,
        next_milestones.milestone_title as next_milestone_title,
        next_milestones.due_at as next_milestone_due_at,
        next_milestones.days_until_due as days_until_next_milestone,
        coalesce(recent.recent_updates, cast([] as varchar[])) as recent_updates,
        completion.as_of_at
    from projects
    inner join completion
        on
            projects.account_id = completion.account_id
            and projects.project_id = completion.project_id
    left join blocked
        on
            projects.account_id = blocked.account_id
            and projects.project_id = blocked.project_id
    left join dependencies
        on
            projects.account_id = dependencies.account_id
            and projects.project_id = dependencies.project_id
    left join next_milestones
        on
            projects.account_id = next_milestones.account_id
            and projects.project_id = next_milestones.project_id
    left join recent
        on
            projects.account_id = recent.account_id
            and projects.project_id = recent.project_id
)

select * from final
