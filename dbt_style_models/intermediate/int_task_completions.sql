-- Final completions: a task counts as completed once, at its current completed_at, when it is
-- done now, not deleted, in a live project, and completed before the as-of time. A reopened
-- task moves to its last completion; one reopened and not finished is not completed.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

tasks as (
    select * from staging.stg_buildos__tasks
),

as_of as (
    select * from intermediate.int_account_as_of
),

final as (
    select
        tasks.account_id,
        tasks.project_id,
        tasks.task_id,
        tasks.facet_scale,
        tasks.created_at,
        tasks.completed_at,
        cast(tasks.completed_at at time zone 'UTC' as date) as completed_date
    from tasks
    inner join projects
        on
            tasks.account_id = projects.account_id
            and tasks.project_id = projects.project_id
    inner join as_of on tasks.account_id = as_of.account_id
    where
        tasks.task_state = 'done'
        and not tasks.is_deleted
        and tasks.completed_at < as_of.as_of_at
)

select * from final
