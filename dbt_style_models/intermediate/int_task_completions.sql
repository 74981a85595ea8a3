-- What "done" means, once for every mart: a task is completed when it is done now, not
-- deleted, in a live project, and completed before the as-of time; it counts once, at its
-- current completed_at. A reopened task moves to its last completion; one reopened and not
-- finished is not completed. Its effort is the weight in force when it was completed, so a
-- later re-estimate does not rewrite the week it was done in.
with projects as (
    select * from staging.stg_buildos__projects
    where not is_deleted
),

tasks as (
    select * from staging.stg_buildos__tasks
),

efforts as (
    select * from intermediate.int_task_effort_intervals
),

as_of as (
    select * from intermediate.int_account_as_of
),

completed as (
    select
        tasks.account_id,
        tasks.project_id,
        tasks.task_id,
        tasks.created_at,
        tasks.due_at,
        tasks.completed_at
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
),

final as (
    select
        completed.account_id,
        completed.project_id,
        completed.task_id,
        efforts.facet_scale,
        coalesce(efforts.effort_weight, 0) as effort_weight,
        completed.created_at,
        completed.due_at,
        completed.completed_at,
        -- the UTC date (as in int_project_daily_states: no time zone lookup per row)
        cast(make_timestamp(epoch_us(completed.completed_at)) as date) as completed_date
    from completed
    left join efforts
        on
            completed.account_id = efforts.account_id
            and completed.task_id = efforts.task_id
            and completed.completed_at >= efforts.valid_from
            -- an open interval as infinity, not an "is null or": with the or, DuckDB joins
            -- every completion to every interval block by block (25 s at 190k tasks)
            and completed.completed_at < coalesce(efforts.valid_to, cast('infinity' as timestamptz))
)

select * from final
