with projects as (
    select * from staging.stg_buildos__projects
),

tasks as (
    select * from staging.stg_buildos__tasks
),

completions as (
    select * from intermediate.int_task_completions
),

task_counts as (
    select
        tasks.account_id,
        tasks.project_id,
        count(*) filter (where not tasks.is_deleted) as live_tasks,
        count(completions.task_id) as done_tasks
    from tasks
    left join completions
        on
            tasks.account_id = completions.account_id
            and tasks.task_id = completions.task_id
    group by all
),

final as (
    select
        projects.account_id,
        projects.project_id,
        projects.project_name,
        projects.type_key,
        projects.project_state,
        projects.facet_context,
        projects.facet_scale,
        projects.facet_stage,
        projects.start_at,
        projects.end_at,
        projects.next_step_short,
        projects.created_at,
        projects.updated_at,
        projects.deleted_at,
        projects.is_deleted,
        coalesce(task_counts.live_tasks, 0) as live_tasks,
        coalesce(task_counts.done_tasks, 0) as done_tasks
    from projects
    left join task_counts
        on
            projects.account_id = task_counts.account_id
            and projects.project_id = task_counts.project_id
)

select * from final
